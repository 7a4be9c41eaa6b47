//! A running witmesh node: the components it hosts and the listeners that serve them, started
//! from one validated configuration and drained as one.

mod components;
mod edge;
mod listeners;
mod serving;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use witmesh_config::{ComponentConfig, Config};

use crate::admin::AdminListener;
use crate::api::catalog::Catalog;
use crate::api::NodeInfo;
use crate::http::gateway::GatewayListener;
use crate::listen::nats::NatsListener;
use crate::listen::quic::QuicListener;
use crate::route::discovery::{self, Announcement, Table};
use crate::route::{announce, Router};
use crate::serve::InFlight;
use serving::Serving;

/// A component to host: its configuration and, for the bundled demo, its bytes.
pub struct ComponentSource<'a> {
    /// The configuration entry.
    pub config: &'a ComponentConfig,
    /// Bytes to use instead of reading `config.path`.
    pub bytes: Option<&'a [u8]>,
}

/// A started node.
pub struct Node {
    /// The line printed when the node is ready:
    /// `ready quic=… nats=… prefix=… admin=… components=…`.
    pub ready_line: String,
    /// The development certificate's PEM, when one was generated.
    pub dev_cert_pem: Option<String>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    quic: Option<QuicListener>,
    nats: Option<NatsListener>,
    admin: Option<AdminListener>,
    http: Option<GatewayListener>,
    drain_timeout: Duration,
    /// Where this node's forwarded imports go.
    pub router: Arc<Router>,
    /// What the node knows about itself and the mesh.
    pub info: Arc<NodeInfo>,
    announcer: Option<tokio::task::JoinHandle<()>>,
    _ticker: crate::host::EpochTicker,
}

impl Node {
    /// Loads every component, binds every listener and returns once calls can be taken.
    pub async fn start(cfg: &Config, components: Vec<ComponentSource<'_>>) -> anyhow::Result<Node> {
        let sources = components::read(components)?;
        let engines = components::Engines::for_sources(&sources)?;
        let limits = components::limits(cfg);
        let node_id: Arc<str> = Arc::from(cfg.node.id.as_str());
        let in_flight = InFlight::default();

        // One NATS connection for serving, forwarding and discovery.
        let nats = if cfg.nats.enabled {
            Some(NatsListener::connect(&cfg.nats).await?)
        } else {
            None
        };
        let table = (nats.is_some() && cfg.mesh.discovery).then(|| Arc::new(Table::default()));
        let router = Arc::new(Router::new(
            cfg,
            limits,
            nats.clone(),
            &trusted_cas(cfg)?,
            table.clone(),
        )?);
        let mut hosted =
            components::load(sources, &engines, &router, limits, &node_id, &in_flight).await?;
        let forwarded = components::forwarded_imports(&hosted, &router)?;

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let info = Arc::new(
            NodeInfo::new(
                &cfg.node.id,
                hosted.all.clone(),
                forwarded,
                router.clone(),
                table.clone(),
                shutdown.clone(),
                in_flight.clone(),
            )
            .with_config(cfg),
        );
        let serving = Serving::plan(&mut hosted, &info, limits, &node_id, &in_flight);

        let mut ready = vec!["ready".to_owned()];
        let (quic, dev_cert_pem) = if cfg.quic.enabled {
            let (l, pem) =
                listeners::quic(cfg, limits, &serving, shutdown.clone(), tracker.clone()).await?;
            ready.push(format!("quic={}", l.local_addr));
            (Some(l), pem)
        } else {
            (None, None)
        };
        let nats_listener = match &nats {
            Some(client) => {
                let l = NatsListener::start(
                    &cfg.nats,
                    client.clone(),
                    &serving.nats,
                    serving.bridge_nats.clone(),
                    &serving.own_prefixes,
                    shutdown.clone(),
                    tracker.clone(),
                )
                .await?;
                ready.push(format!("nats={}", l.url));
                ready.push(format!("prefix={}", l.prefix));
                Some(l)
            }
            None => None,
        };
        let catalog = Arc::new(Catalog::new(info.clone(), router.clone()));
        let gateway = edge::gateway(cfg, &hosted.all, &info, &catalog, &router, limits)?;
        let admin = if cfg.admin.enabled {
            let a = AdminListener::start(cfg.admin.listen, info.clone(), catalog, gateway.clone())
                .await?;
            ready.push(format!("admin={}", a.local_addr()));
            Some(a)
        } else {
            None
        };
        let http = if cfg.http.enabled {
            let g = GatewayListener::start(cfg.http.listen, gateway).await?;
            ready.push(format!("http={}", g.local_addr()));
            Some(g)
        } else {
            None
        };

        let me = Announcement {
            node: cfg.node.id.clone(),
            nats_prefix: nats_listener
                .as_ref()
                .filter(|_| serving.on_nats)
                .map(|l| l.prefix.clone()),
            quic: quic
                .as_ref()
                .filter(|q| !q.local_addr.ip().is_unspecified() && serving.on_quic)
                .map(|q| q.local_addr.to_string()),
            server_name: Some(cfg.quic.server_name.clone()),
            instances: serving.instances,
            admin: admin
                .as_ref()
                .map(AdminListener::local_addr)
                .filter(|a| !a.ip().is_unspecified())
                .map(|a| a.to_string()),
            load: 0,
            ttl_ms: u64::try_from(cfg.mesh.announce_ttl.get().as_millis()).unwrap_or(u64::MAX),
        };
        let announcer = match (&nats, &table) {
            (Some(client), Some(table)) => {
                let load = in_flight.clone();
                Some(tokio::spawn(announce::run(
                    client.clone(),
                    discovery::subject(cfg.node.lattice.as_deref()),
                    me.clone(),
                    move || load.get(),
                    cfg.mesh.announce_interval.get(),
                    table.clone(),
                    shutdown.clone(),
                )))
            }
            _ => None,
        };
        info.set_serving(me);
        ready.push(format!("components={}", hosted.names.join(",")));
        Ok(Node {
            ready_line: ready.join(" "),
            dev_cert_pem,
            shutdown,
            tracker,
            quic,
            nats: nats_listener,
            admin,
            http,
            drain_timeout: cfg.node.drain_timeout.0,
            router,
            info,
            announcer,
            _ticker: engines.ticker,
        })
    }

    /// Stops taking calls, waits up to the drain timeout for in-flight calls, then closes the
    /// listeners. Returns whether every in-flight call finished.
    pub async fn drain(self) -> bool {
        self.shutdown.cancel();
        if let Some(a) = self.announcer {
            // Withdraws this node from its peers' tables.
            let _ = tokio::time::timeout(Duration::from_secs(1), a).await;
        }
        self.tracker.close();
        let started = tokio::time::Instant::now();
        if let Some(h) = self.http {
            // No new HTTP calls; the ones in progress finish within the drain timeout.
            h.close(self.drain_timeout).await;
        }
        let left = self.drain_timeout.saturating_sub(started.elapsed());
        let finished = tokio::time::timeout(left, self.tracker.wait())
            .await
            .is_ok();
        if let Some(q) = self.quic {
            q.close().await;
        }
        if let Some(n) = self.nats {
            n.close().await;
        }
        if let Some(a) = self.admin {
            a.close().await;
        }
        finished
    }
}

/// The PEM of every CA `[quic] trusted_ca` names, for dialling QUIC peers.
fn trusted_cas(cfg: &Config) -> anyhow::Result<Vec<u8>> {
    let mut trusted = Vec::new();
    for ca in &cfg.quic.trusted_ca {
        let pem = std::fs::read(ca)
            .with_context(|| format!("cannot read trusted CA `{}`", ca.display()))?;
        trusted.extend_from_slice(&pem);
        trusted.push(b'\n');
    }
    Ok(trusted)
}
