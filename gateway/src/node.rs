//! A running witmesh node: the components it hosts and the listeners that serve them, started
//! from one validated configuration and drained as one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use witmesh_config::{ComponentConfig, Config, Transport};
use witmesh_proto::codec::Limits;

use crate::host::{new_engine, spawn_epoch_ticker, LoadedComponent, Policy, PoolSize};
use crate::listen::nats::NatsListener;
use crate::listen::quic::QuicListener;
use crate::listen::tls;
use crate::serve::Endpoint;

/// A component to host: its configuration and, for the bundled demo, its bytes.
pub struct ComponentSource<'a> {
    /// The configuration entry.
    pub config: &'a ComponentConfig,
    /// Bytes to use instead of reading `config.path`.
    pub bytes: Option<&'a [u8]>,
}

/// A started node.
pub struct Node {
    /// The line printed when the node is ready: `ready quic=… nats=… prefix=… components=…`.
    pub ready_line: String,
    /// The development certificate's PEM, when one was generated.
    pub dev_cert_pem: Option<String>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    quic: Option<QuicListener>,
    nats: Option<NatsListener>,
    drain_timeout: Duration,
    _ticker: crate::host::EpochTicker,
}

fn policy(c: &ComponentConfig) -> Policy {
    Policy {
        preopens: c
            .wasi
            .preopens
            .iter()
            .map(|p| (p.host.clone(), p.guest.clone(), p.writable))
            .collect(),
        allow_sockets: c.wasi.allow_sockets.clone(),
        allow_http_hosts: c.wasi.allow_http_hosts.clone(),
        env: c
            .wasi
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        memory_limit: usize::try_from(c.memory_limit.0).unwrap_or(usize::MAX),
        call_timeout: c.call_timeout.0,
        max_concurrency: c.max_concurrency.max(1) as usize,
        instances: c.instances,
    }
}

fn limits(cfg: &Config) -> Limits {
    Limits {
        max_call_bytes: usize::try_from(cfg.limits.max_call_bytes.0).unwrap_or(usize::MAX),
        max_string_bytes: u32::try_from(cfg.limits.max_string_bytes.0).unwrap_or(u32::MAX),
        max_list_len: cfg.limits.max_list_len,
        max_depth: cfg.limits.max_depth,
    }
}

impl Node {
    /// Loads every component, binds every listener and returns once calls can be taken.
    pub async fn start(cfg: &Config, components: Vec<ComponentSource<'_>>) -> anyhow::Result<Node> {
        let pool = PoolSize {
            instances: components
                .iter()
                .map(|c| c.config.max_concurrency.max(1))
                .fold(0u32, u32::saturating_add),
            max_memory: components
                .iter()
                .map(|c| usize::try_from(c.config.memory_limit.0).unwrap_or(usize::MAX))
                .max()
                .unwrap_or(0),
        };
        let engine = new_engine(pool)?;
        let ticker = spawn_epoch_ticker(engine.clone()).context("cannot start the epoch clock")?;
        let limits = limits(cfg);

        let mut quic_eps = Vec::new();
        let mut nats_eps = Vec::new();
        let mut names = Vec::new();
        for source in components {
            let c = source.config;
            let bytes = match source.bytes {
                Some(b) => b.to_vec(),
                None => std::fs::read(&c.path)
                    .with_context(|| format!("cannot read component `{}`", c.path.display()))?,
            };
            let (engine, name, path, policy, only) = (
                engine.clone(),
                c.name.clone(),
                c.path.clone(),
                policy(c),
                c.exports.clone(),
            );
            let loaded = tokio::task::spawn_blocking(move || {
                LoadedComponent::load(&engine, &name, &bytes, &path, policy, &only)
            })
            .await
            .context("component loading panicked")??;
            let loaded = Arc::new(loaded);
            for e in &loaded.exports {
                tracing::info!(
                    component = c.name.as_str(),
                    "serving {}.{}",
                    e.func.instance,
                    e.func.name
                );
            }
            let eps = Endpoint::all(&loaded, limits);
            if c.transports.contains(&Transport::Quic) {
                quic_eps.extend(eps.iter().cloned());
            }
            if c.transports.contains(&Transport::Nats) {
                nats_eps.extend(eps);
            }
            names.push(c.name.clone());
        }

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut ready = vec!["ready".to_owned()];
        let mut dev_cert_pem = None;
        let quic = if cfg.quic.enabled {
            let identity = match (&cfg.quic.cert, &cfg.quic.key) {
                (Some(cert), Some(key)) => tls::load_identity(cert, key)?,
                _ => tls::dev_identity()?,
            };
            if let (Some(pem), Some(out)) = (&identity.dev_pem, &cfg.quic.dev_ca_out) {
                write_pem(out, pem)?;
            }
            dev_cert_pem = identity.dev_pem.clone();
            let server = tls::server_config(&identity)?;
            let max_frame = u32::try_from(limits.max_call_bytes).unwrap_or(u32::MAX);
            let l = QuicListener::start(
                cfg.quic.listen,
                server,
                max_frame,
                &quic_eps,
                shutdown.clone(),
                tracker.clone(),
            )
            .await?;
            ready.push(format!("quic={}", l.local_addr));
            Some(l)
        } else {
            None
        };
        let nats = if cfg.nats.enabled {
            let l = NatsListener::start(&cfg.nats, &nats_eps, shutdown.clone(), tracker.clone())
                .await?;
            ready.push(format!("nats={}", l.url));
            ready.push(format!("prefix={}", l.prefix));
            Some(l)
        } else {
            None
        };
        ready.push(format!("components={}", names.join(",")));
        Ok(Node {
            ready_line: ready.join(" "),
            dev_cert_pem,
            shutdown,
            tracker,
            quic,
            nats,
            drain_timeout: cfg.node.drain_timeout.0,
            _ticker: ticker,
        })
    }

    /// Stops taking calls, waits up to the drain timeout for in-flight calls, then closes the
    /// listeners. Returns whether every in-flight call finished.
    pub async fn drain(self) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        let finished = tokio::time::timeout(self.drain_timeout, self.tracker.wait())
            .await
            .is_ok();
        if let Some(q) = self.quic {
            q.close().await;
        }
        if let Some(n) = self.nats {
            n.close().await;
        }
        finished
    }
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
