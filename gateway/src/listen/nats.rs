//! The NATS listener: one subscription per served function on
//! `[prefix.]wrpc.0.0.1.<instance>.<function>`, optionally in a queue group.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use witmesh_config::NatsConfig;
use wrpc_transport::Serve as _;

use super::dispatch;
use crate::call::Class;
use crate::host::LoadedComponent;
use crate::serve::http_bridge::{HttpBridge, TimeLeft};
use crate::serve::{CallMeta, Endpoint, Report};
use crate::telemetry::metrics::Wire;
use crate::transport::failure::{HEADER_DEADLINE_MS, HEADER_ERROR_TO};
use crate::transport::nats::publish_report;
use wrpc_transport_nats::NatsContext;

/// Longest the last flush at shutdown may take.
pub const CLOSE_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2); // a live server answers in milliseconds

/// Longest subject a caller may ask failure reports to go to.
const MAX_REPORT_SUBJECT: usize = 256; // inbox subjects are well under 100 bytes

/// The deadline and report subject a witmesh caller sent as headers. Reports only go to inbox
/// subjects, so a caller cannot aim them at another service's subject.
fn call_meta(nats: &async_nats::Client, cx: NatsContext) -> CallMeta {
    let Some(headers) = cx.headers else {
        return CallMeta {
            transport: Wire::Nats,
            ..CallMeta::default()
        };
    };
    let time_left = time_left(&headers);
    let report = headers
        .get(HEADER_ERROR_TO)
        .map(|v| v.as_str())
        .filter(|s| {
            s.starts_with("_INBOX.")
                && s.len() <= MAX_REPORT_SUBJECT
                && !s.contains(['*', '>', ' ', '\t', '\r', '\n'])
        })
        .map(|s| {
            Box::new(NatsReport {
                nats: nats.clone(),
                subject: s.to_owned(),
            }) as Box<dyn Report>
        });
    let trace =
        crate::telemetry::TraceContext::from_headers(|n| headers.get(n).map(|v| v.as_str()));
    CallMeta {
        time_left,
        report,
        transport: Wire::Nats,
        trace,
    }
}

/// A failure report published to the subject a witmesh caller named.
struct NatsReport {
    nats: async_nats::Client,
    subject: String,
}

impl Report for NatsReport {
    fn send<'a>(
        &'a self,
        class: Class,
        node: &'a str,
        message: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(publish_report(
            &self.nats,
            &self.subject,
            class,
            node,
            message,
        ))
    }
}

impl TimeLeft for NatsContext {
    fn time_left(&self) -> Option<std::time::Duration> {
        self.headers.as_ref().and_then(time_left)
    }
}

/// The remaining time a witmesh caller sent with a call, if it sent one.
fn time_left(headers: &async_nats::HeaderMap) -> Option<std::time::Duration> {
    headers
        .get(HEADER_DEADLINE_MS)
        .and_then(|v| v.as_str().parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
}

/// A running NATS listener.
pub struct NatsListener {
    /// The server URL connected to.
    pub url: String,
    /// The subject prefix served under (empty for none).
    pub prefix: String,
    client: async_nats::Client,
    /// Kept until the drain is over: its background tasks carry in-flight calls' data.
    _wrpc: wrpc_transport_nats::Client,
    /// The same for the wasi:http components' own prefixes.
    _http: Vec<wrpc_transport_nats::Client>,
}

/// The NATS prefix a wasi:http component's handler is served under besides the node's:
/// `PREFIX.COMPONENT`, or `COMPONENT` when the node has no prefix. A forwarding route names
/// it (`--route 'wrpc:http/incoming-handler=nats:PREFIX.COMPONENT'`) to reach that component
/// among several on one node.
pub fn component_prefix(prefix: &str, component: &str) -> String {
    if prefix.is_empty() {
        component.to_owned()
    } else {
        format!("{prefix}.{component}")
    }
}

impl NatsListener {
    /// Connects to the NATS server `cfg` names.
    pub async fn connect(cfg: &NatsConfig) -> anyhow::Result<async_nats::Client> {
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
        opts.connect(cfg.url.as_str())
            .await
            .with_context(|| format!("cannot connect to NATS at {}", cfg.url))
    }

    /// Subscribes for every endpoint on `client` until `shutdown`. `bridge` is a wasi:http
    /// component served to other nodes' HTTP listeners under the node's prefix; each of
    /// `http_components` is served as well under a prefix of its own,
    /// `PREFIX.COMPONENT` (see [`component_prefix`]).
    pub async fn start(
        cfg: &NatsConfig,
        client: async_nats::Client,
        endpoints: &[Endpoint],
        bridge: Option<Arc<LoadedComponent>>,
        http_components: &[Arc<LoadedComponent>],
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> anyhow::Result<Self> {
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
            let nats = client.clone();
            let meta = move |cx: NatsContext| call_meta(&nats, cx);
            dispatch(
                ep.clone(),
                invocations,
                meta,
                shutdown.clone(),
                tracker.clone(),
            );
        }
        if let Some(component) = bridge {
            HttpBridge::new(component, Wire::Nats)
                .serve(&wrpc, shutdown.clone(), tracker.clone())
                .await
                .context("cannot subscribe for wrpc:http")?;
        }
        let mut own = Vec::with_capacity(http_components.len());
        for component in http_components {
            let at = component_prefix(&prefix, &component.name);
            let client = wrpc_transport_nats::Client::new(
                client.clone(),
                at.clone(),
                cfg.queue_group.as_deref().map(Arc::from),
            )
            .await
            .with_context(|| format!("cannot set up wRPC over NATS under `{at}`"))?;
            HttpBridge::new(component.clone(), Wire::Nats)
                .serve(&client, shutdown.clone(), tracker.clone())
                .await
                .with_context(|| format!("cannot subscribe for wrpc:http under `{at}`"))?;
            tracing::info!(
                component = &*component.name,
                "its wasi:http handler is also served under the NATS prefix `{at}`"
            );
            own.push(client);
        }
        tokio::time::timeout(cfg.connect_timeout.0, client.flush())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "NATS at {} took no flush within {:?} (`nats.connect_timeout`); is it reachable?",
                    cfg.url,
                    cfg.connect_timeout.0
                )
            })?
            .context("NATS flush failed")?;
        Ok(NatsListener {
            url: cfg.url.clone(),
            prefix,
            client,
            _wrpc: wrpc,
            _http: own,
        })
    }

    /// Flushes what in-flight calls wrote; called after the drain. A server that is gone
    /// gets [`CLOSE_FLUSH_TIMEOUT`], not forever: the client would wait for it to come back.
    pub async fn close(self) {
        if tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, self.client.flush())
            .await
            .is_err()
        {
            tracing::warn!(
                "NATS at {} took no flush within {CLOSE_FLUSH_TIMEOUT:?}; exiting without it",
                self.url
            );
        }
    }
}
