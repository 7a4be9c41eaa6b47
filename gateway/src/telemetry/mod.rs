//! Logs: tracing to stderr, filtered by `RUST_LOG` or the configured level, as text or JSON;
//! and Prometheus [`metrics`].

pub mod metrics;

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use witmesh_config::{LogFormat, TelemetryConfig};

/// Installs the global subscriber. Later calls do nothing (tests start several nodes).
pub fn init_logs(cfg: &TelemetryConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
