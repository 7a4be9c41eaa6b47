//! The NATS listener: one subscription per served function on
//! `[prefix.]wrpc.0.0.1.<instance>.<function>`, optionally in a queue group.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use witmesh_config::NatsConfig;
use wrpc_transport::Serve as _;

use super::dispatch;
use crate::serve::Endpoint;

/// A running NATS listener.
pub struct NatsListener {
    /// The server URL connected to.
    pub url: String,
    /// The subject prefix served under (empty for none).
    pub prefix: String,
    client: async_nats::Client,
    /// Kept until the drain is over: its background tasks carry in-flight calls' data.
    _wrpc: wrpc_transport_nats::Client,
}

impl NatsListener {
    /// Connects to NATS and subscribes for every endpoint until `shutdown`.
    pub async fn start(
        cfg: &NatsConfig,
        endpoints: &[Endpoint],
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> anyhow::Result<Self> {
        let mut opts = async_nats::ConnectOptions::new()
            .connection_timeout(cfg.connect_timeout.0)
            .name("witmesh");
        if let Some(creds) = &cfg.credentials {
            opts = opts
                .credentials_file(creds)
                .await
                .with_context(|| format!("cannot read NATS credentials `{}`", creds.display()))?;
        }
        if let Some(tls) = &cfg.tls {
            if let Some(ca) = &tls.ca {
                opts = opts.add_root_certificates(ca.clone());
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                opts = opts.add_client_certificate(cert.clone(), key.clone());
            }
            opts = opts.require_tls(true);
        }
        let client = opts
            .connect(cfg.url.as_str())
            .await
            .with_context(|| format!("cannot connect to NATS at {}", cfg.url))?;
        let prefix = cfg.prefix.clone().unwrap_or_default();
        let wrpc = wrpc_transport_nats::Client::new(
            client.clone(),
            prefix.clone(),
            cfg.queue_group.as_deref().map(Arc::from),
        )
        .await
        .context("cannot set up wRPC over NATS")?;
        for ep in endpoints {
            let func = ep.func();
            let invocations = wrpc
                .serve(&func.instance, &func.name, ep.param_paths())
                .await
                .with_context(|| {
                    format!("cannot subscribe for `{}.{}`", func.instance, func.name)
                })?;
            dispatch(ep.clone(), invocations, shutdown.clone(), tracker.clone());
        }
        client.flush().await.context("NATS flush failed")?;
        Ok(NatsListener {
            url: cfg.url.clone(),
            prefix,
            client,
            _wrpc: wrpc,
        })
    }

    /// Flushes what in-flight calls wrote; called after the drain.
    pub async fn close(self) {
        let _ = self.client.flush().await;
    }
}
