//! The node's wRPC listeners' start-up that needs more than a call: QUIC's identity.

use std::path::Path;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use witmesh_config::Config;
use witmesh_proto::codec::Limits;

use super::serving::Serving;
use crate::listen::quic::QuicListener;
use crate::transport::tls;

/// Binds the QUIC listener with `[quic]`'s certificate, or a development certificate (written
/// where `dev_ca_out` says, and returned as PEM).
pub(super) async fn quic(
    cfg: &Config,
    limits: Limits,
    serving: &Serving,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) -> anyhow::Result<(QuicListener, Option<String>)> {
    let identity = match (&cfg.quic.cert, &cfg.quic.key) {
        (Some(cert), Some(key)) => tls::load_identity(cert, key)?,
        _ => tls::dev_identity()?,
    };
    if let (Some(pem), Some(out)) = (&identity.dev_pem, &cfg.quic.dev_ca_out) {
        write_pem(out, pem)?;
    }
    let server = tls::server_config(&identity)?;
    let max_frame = u32::try_from(limits.max_call_bytes).unwrap_or(u32::MAX);
    let listener = QuicListener::start(
        cfg.quic.listen,
        server,
        max_frame,
        &serving.quic,
        serving.bridge_quic.clone(),
        shutdown,
        tracker,
    )
    .await?;
    Ok((listener, identity.dev_pem.clone()))
}

fn write_pem(path: &Path, pem: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    std::fs::write(path, pem).with_context(|| {
        format!(
            "cannot write the development certificate to `{}`",
            path.display()
        )
    })
}
