//! Outgoing `wasi:http` under policy: denied unless the request's host is on the component's
//! allow-list (`[components.wasi] allow_http_hosts`); allowed requests carry the call's W3C
//! trace context.

use std::sync::Arc;

use std::future::Future;
use std::pin::Pin;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{default_send_request, Error, RequestOptions, WasiBody, WasiHttpHooks};

/// What the hooks return for a request: the response and the future that drives its body.
type Sent = Box<
    dyn Future<
            Output = Result<
                (
                    hyper::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

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
        mut request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_done: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        let host = request.uri().host().unwrap_or_default().to_owned();
        if !self.allows(&host) {
            tracing::warn!(
                component = &*self.component,
                host,
                "outgoing HTTP request denied by policy (allow_http_hosts)"
            );
            return Box::new(std::future::ready(Err(Error::HttpRequestDenied)));
        }
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
        Box::new(async move {
            let (response, io) = default_send_request(request, options).await?;
            let io: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> = Box::pin(io);
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
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
