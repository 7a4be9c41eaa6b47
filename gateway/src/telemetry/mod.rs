//! Logs: tracing to stderr, filtered by `RUST_LOG` or the configured level, as text or JSON
//! (with the current span's fields, trace id included); [`trace`]s exported over OTLP; and
//! Prometheus [`metrics`].

pub mod metrics;
pub mod trace;

use std::io::IsTerminal as _;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::{Layer, Registry};
use witmesh_config::{LogFormat, TelemetryConfig};

pub use trace::{TraceContext, TraceError, Traces};

/// Installs the global subscriber: logs, and spans to OTLP when configured (the returned
/// [`Traces`] flushes them at exit). Later calls do nothing (tests start several nodes).
pub fn init(cfg: &TelemetryConfig) -> Result<Option<Traces>, TraceError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (traces, otel) = match trace::pipeline(cfg)? {
        Some((traces, tracer)) => (
            Some(traces),
            Some(tracing_opentelemetry::layer().with_tracer(tracer)),
        ),
        None => (None, None),
    };
    let ansi = std::io::stderr().is_terminal();
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match cfg.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
    };
    // The log filter is the logs' own: spans of calls are exported whatever it lets through.
    let spans = Targets::new().with_target("witmesh", tracing::Level::INFO);
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(otel.map(|l| l.with_filter(spans)))
        .try_init();
    Ok(traces)
}
