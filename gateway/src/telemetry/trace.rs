//! Traces: `tracing` spans exported over OTLP/HTTP (protobuf) when `[telemetry]
//! otlp_endpoint` is set, and W3C trace context (`traceparent`, `tracestate`) carried across
//! hops: in NATS headers of wRPC calls and in HTTP headers. QUIC carries no metadata, so a call
//! over QUIC starts a new trace at the provider.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use witmesh_config::TelemetryConfig;

/// The W3C trace context header names.
pub const TRACE_HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The OTLP exporter could not be built.
    #[error("cannot export traces to `{endpoint}`: {reason}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What failed.
        reason: String,
    },
}

/// The span exporter of a running node; [`Traces::shutdown`] flushes what is buffered.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Exports buffered spans and stops the exporter.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!("exporting the last spans failed: {e}");
        }
    }
}

/// The OTLP pipeline for `cfg`, or `None` when tracing is off.
pub fn pipeline(
    cfg: &TelemetryConfig,
) -> Result<Option<(Traces, opentelemetry_sdk::trace::Tracer)>, TraceError> {
    let Some(endpoint) = cfg.otlp_endpoint.as_deref() else {
        return Ok(None);
    };
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .map_err(|e| TraceError::Exporter {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
    let ratio = f64::from(cfg.trace_sampling_percent.min(100)) / 100.0;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("witmesh");
    Ok(Some((Traces { provider }, tracer)))
}

/// Trace context headers, by lower-case name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceContext(HashMap<String, String>);

/// Longest trace context header value accepted from the wire.
const MAX_HEADER: usize = 512; // traceparent is 55 bytes; tracestate is bounded at 512 by W3C

impl TraceContext {
    /// The context of the current span, to send with an outgoing call.
    pub fn current() -> Self {
        let cx = tracing::Span::current().context();
        let mut carrier = TraceContext::default();
        if cx.span().span_context().is_valid() {
            TraceContextPropagator::new().inject_context(&cx, &mut carrier);
        }
        carrier
    }

    /// Reads the trace context headers through `get` (e.g. from NATS or HTTP headers); values
    /// over 512 bytes are ignored.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let mut carrier = TraceContext::default();
        for name in TRACE_HEADERS {
            if let Some(v) = get(name).filter(|v| v.len() <= MAX_HEADER) {
                carrier.0.insert(name.to_owned(), v.to_owned());
            }
        }
        carrier
    }

    /// The headers to send, `(name, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there is no context.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Makes the caller's span the parent of `span` (a malformed context is ignored: the span
    /// starts a new trace).
    pub fn adopt(&self, span: &tracing::Span) {
        if self.0.is_empty() {
            return;
        }
        let cx = TraceContextPropagator::new().extract(self);
        if cx.span().span_context().is_valid() {
            let _ = span.set_parent(cx);
        }
    }
}

impl Injector for TraceContext {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_ascii_lowercase(), value);
    }
}

impl Extractor for TraceContext {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The trace id of `span` as 32 hex digits, for log lines; empty when it has none.
pub fn trace_id(span: &tracing::Span) -> String {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trace_headers_of_bounded_size_are_read() {
        let long = "x".repeat(600);
        let cx = TraceContext::from_headers(|n| match n {
            "traceparent" => Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            "tracestate" => Some(long.as_str()),
            _ => Some("other"),
        });
        let headers: Vec<_> = cx.headers().collect();
        assert_eq!(
            headers,
            [(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            )]
        );
    }

    #[test]
    fn without_a_span_there_is_no_context_to_send() {
        assert!(TraceContext::current().is_empty());
    }
}
