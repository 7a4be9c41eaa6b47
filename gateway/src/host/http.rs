//! Outgoing `wasi:http` under policy: denied unless the request's host is on the component's
//! allow-list (`[components.wasi] allow_http_hosts`); allowed requests carry the call's W3C
//! trace context.

use std::sync::Arc;

use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, OutgoingRequestConfig};
use wasmtime_wasi_http::p2::{default_send_request, HttpResult, WasiHttpHooks};

/// The hosts a component may send HTTP requests to.
#[derive(Clone, Debug, Default)]
pub struct HttpPolicy {
    /// The component, for logs.
    pub component: Arc<str>,
    /// Allowed host names or addresses; `*.example.com` allows subdomains; empty denies all.
    pub allowed_hosts: Arc<[String]>,
}

impl HttpPolicy {
    /// Whether `host` (without port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
                None => pattern.eq_ignore_ascii_case(host),
            })
    }
}

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        mut request: hyper::Request<HyperOutgoingBody>,
        config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        let host = request.uri().host().unwrap_or_default().to_owned();
        if self.allows(&host) {
            // The call's trace continues into the request, unless the component set its own.
            if !request.headers().contains_key("traceparent") {
                for (name, value) in crate::telemetry::TraceContext::current().headers() {
                    if let (Ok(n), Ok(v)) = (
                        hyper::header::HeaderName::from_bytes(name.as_bytes()),
                        hyper::header::HeaderValue::from_str(value),
                    ) {
                        request.headers_mut().insert(n, v);
                    }
                }
            }
            Ok(default_send_request(request, config))
        } else {
            tracing::warn!(
                component = &*self.component,
                host,
                "outgoing HTTP request denied by policy (allow_http_hosts)"
            );
            Err(ErrorCode::HttpRequestDenied.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HttpPolicy;

    #[test]
    fn hosts_match_exactly_or_by_subdomain_wildcard() {
        let p = HttpPolicy {
            component: "c".into(),
            allowed_hosts: vec!["127.0.0.1".to_owned(), "*.example.com".to_owned()].into(),
        };
        assert!(p.allows("127.0.0.1"));
        assert!(p.allows("api.example.com"));
        assert!(!p.allows("example.com"));
        assert!(!p.allows("evilexample.com"));
        assert!(!p.allows("127.0.0.2"));
        assert!(!HttpPolicy::default().allows("127.0.0.1"));
    }
}
