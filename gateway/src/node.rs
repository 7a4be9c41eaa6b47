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
use witmesh_proto::WitSet;

use crate::admin::AdminListener;
use crate::api::catalog::Catalog;
use crate::api::{mesh, NodeInfo};
use crate::host::{
    new_engine, spawn_epoch_ticker, Abi, LoadError, LoadedComponent, Policy, PoolSize,
};
use crate::http::gateway::{Gateway, GatewayListener, HttpRoute, HttpTarget};
use crate::listen::nats::NatsListener;
use crate::listen::quic::QuicListener;
use crate::route::discovery::{self, Announcement, Table};
use crate::route::{announce, Router};
use crate::serve::{Endpoint, InFlight};
use crate::transport::tls;

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
        // Read and decode each component once: the ABI it is built for picks its engine.
        let mut sources = Vec::new();
        for source in components {
            let c = source.config;
            let bytes = match source.bytes {
                Some(b) => b.to_vec(),
                None => std::fs::read(&c.path)
                    .with_context(|| format!("cannot read component `{}`", c.path.display()))?,
            };
            let wit = WitSet::from_component(&bytes).map_err(|e| LoadError::Wit {
                path: c.path.clone(),
                reason: e.to_string(),
            })?;
            let abi = if wit.async_abi() {
                Abi::Async
            } else {
                Abi::Sync
            };
            sources.push((c, bytes, wit, abi));
        }
        let pool_of = |abi: Abi| PoolSize {
            instances: sources
                .iter()
                .filter(|s| s.3 == abi)
                // Each component's concurrency, and one resident instance for exported
                // resources.
                .map(|s| s.0.max_concurrency.max(1).saturating_add(1))
                .fold(0u32, u32::saturating_add),
            max_memory: sources
                .iter()
                .filter(|s| s.3 == abi)
                .map(|s| usize::try_from(s.0.memory_limit.0).unwrap_or(usize::MAX))
                .max()
                .unwrap_or(0),
        };
        // A node without components still gets the plain engine (it costs nothing until used).
        let engine_for = |abi: Abi| -> anyhow::Result<Option<wasmtime::Engine>> {
            let wanted =
                sources.iter().any(|s| s.3 == abi) || (abi == Abi::Sync && sources.is_empty());
            wanted.then(|| new_engine(pool_of(abi), abi)).transpose()
        };
        let sync_engine = engine_for(Abi::Sync)?;
        let async_engine = engine_for(Abi::Async)?;
        let engines: Vec<wasmtime::Engine> = sync_engine
            .iter()
            .chain(async_engine.iter())
            .cloned()
            .collect();
        let ticker = spawn_epoch_ticker(engines).context("cannot start the epoch clock")?;
        let limits = limits(cfg);
        let node_id: Arc<str> = Arc::from(cfg.node.id.as_str());
        let in_flight = InFlight::default();

        // One NATS connection for serving, forwarding and discovery.
        let nats = if cfg.nats.enabled {
            Some(NatsListener::connect(&cfg.nats).await?)
        } else {
            None
        };
        let table = (nats.is_some() && cfg.mesh.discovery).then(|| Arc::new(Table::default()));
        let mut trusted = Vec::new();
        for ca in &cfg.quic.trusted_ca {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read trusted CA `{}`", ca.display()))?;
            trusted.extend_from_slice(&pem);
            trusted.push(b'\n');
        }
        let router = Arc::new(Router::new(
            cfg,
            limits,
            nats.clone(),
            &trusted,
            table.clone(),
        )?);

        let mut quic_eps = Vec::new();
        let mut nats_eps = Vec::new();
        let mut names = Vec::new();
        let mut loaded_all = Vec::new();
        let components_cfg: Vec<ComponentConfig> = sources.iter().map(|s| s.0.clone()).collect();
        for (c, bytes, wit, abi) in sources {
            let engine = match abi {
                Abi::Async => async_engine.as_ref(),
                Abi::Sync => sync_engine.as_ref(),
            }
            .context("no engine for a component's ABI")?;
            let (engine, name, path, policy, only) = (
                engine.clone(),
                c.name.clone(),
                c.path.clone(),
                policy(c),
                c.exports.clone(),
            );
            let r: Arc<dyn crate::call::Forward> = router.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                LoadedComponent::load(&engine, &name, &bytes, wit, &path, policy, &only, Some(&r))
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
            router.add_local(loaded.clone());
            loaded_all.push(loaded.clone());
            let eps = Endpoint::all(&loaded, limits, &node_id, &in_flight);
            if c.transports.contains(&Transport::Quic) {
                quic_eps.extend(eps.iter().cloned());
            }
            if c.transports.contains(&Transport::Nats) {
                nats_eps.extend(eps);
            }
            names.push(c.name.clone());
        }

        // An import is missing only when nothing could ever serve it: no component here, no
        // route or link, and no discovery.
        let exports: Vec<String> = loaded_all
            .iter()
            .flat_map(|c| c.exports.iter().map(|e| e.func.instance.clone()))
            .collect();
        let mut forwarded = Vec::new();
        for c in &loaded_all {
            let missing: Vec<String> = c
                .forwarded
                .iter()
                .filter(|i| !router.could_serve(i, &exports))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(LoadError::MissingImports {
                    name: c.name.to_string(),
                    missing,
                }
                .into());
            }
            for i in &c.forwarded {
                tracing::info!(component = &*c.name, "forwarding import {i}");
                if !forwarded.contains(i) {
                    forwarded.push(i.clone());
                }
            }
        }

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let info = Arc::new(
            NodeInfo::new(
                &cfg.node.id,
                loaded_all.clone(),
                forwarded,
                router.clone(),
                table.clone(),
                shutdown.clone(),
                in_flight.clone(),
            )
            .with_config(cfg),
        );

        // What this node announces: its components' instances. witmesh's own `witmesh:mesh`
        // is served by every node and so is not announced.
        let mut instances: Vec<String> = Vec::new();
        for e in quic_eps.iter().chain(&nats_eps) {
            if !instances.contains(&e.func().instance) {
                instances.push(e.func().instance.clone());
            }
        }
        // A wasi:http component is also served to HTTP listeners on other nodes, as
        // `wrpc:http/incoming-handler`. That instance name is one per node, so under the
        // node's own prefix (and over QUIC) only when exactly one component serves HTTP; over
        // NATS each is also served under a prefix of its own.
        let http_components: Vec<&Arc<LoadedComponent>> =
            loaded_all.iter().filter(|c| c.serves_http()).collect();
        let bridge = match http_components.as_slice() {
            [one] => Some((*one).clone()),
            [] => None,
            many => {
                tracing::warn!(
                    "{} components serve wasi:http ({}); over NATS each is served under its own prefix only (PREFIX.COMPONENT), and none over QUIC, since {} names one handler per node",
                    many.len(),
                    many.iter().map(|c| &*c.name).collect::<Vec<_>>().join(", "),
                    crate::interfaces::wrpc_http::INSTANCE
                );
                None
            }
        };
        let own_prefixes: Vec<Arc<LoadedComponent>> = http_components
            .iter()
            .filter(|b| {
                components_cfg
                    .iter()
                    .any(|c| *c.name == *b.name && c.transports.contains(&Transport::Nats))
            })
            .map(|c| (*c).clone())
            .collect();
        let bridge_on = |t: Transport| {
            bridge.clone().filter(|b| {
                components_cfg
                    .iter()
                    .any(|c| *c.name == *b.name && c.transports.contains(&t))
            })
        };
        let (bridge_nats, bridge_quic) = (bridge_on(Transport::Nats), bridge_on(Transport::Quic));
        if bridge_nats.is_some() || bridge_quic.is_some() {
            instances.push(crate::interfaces::wrpc_http::INSTANCE.to_owned());
        }
        let (serves_nats, serves_quic) = (
            !nats_eps.is_empty() || bridge_nats.is_some(),
            !quic_eps.is_empty() || bridge_quic.is_some(),
        );
        let builtins = mesh::endpoints(&info, limits, &node_id, &in_flight);
        for b in builtins {
            if instances.contains(&b.func().instance) {
                tracing::info!(
                    "a component serves {}; witmesh's own is not served",
                    b.func().instance
                );
                continue;
            }
            quic_eps.push(b.clone());
            nats_eps.push(b);
        }

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
                bridge_quic,
                shutdown.clone(),
                tracker.clone(),
            )
            .await?;
            ready.push(format!("quic={}", l.local_addr));
            Some(l)
        } else {
            None
        };
        let nats_listener = match &nats {
            Some(client) => {
                let l = NatsListener::start(
                    &cfg.nats,
                    client.clone(),
                    &nats_eps,
                    bridge_nats,
                    &own_prefixes,
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
        let mut http_routes = Vec::new();
        for r in &cfg.http.routes {
            let at = format!(
                "{}{}",
                r.host.as_deref().unwrap_or("any host"),
                r.path_prefix
            );
            let target = match &r.component {
                Some(name) => {
                    let Some(component) = loaded_all.iter().find(|c| *c.name == **name) else {
                        anyhow::bail!("http.routes: no component named `{name}`");
                    };
                    if !component.serves_http() {
                        anyhow::bail!(
                            "http.routes: component `{name}` does not export wasi:http/incoming-handler, so it cannot serve HTTP"
                        );
                    }
                    tracing::info!(component = name.as_str(), "serving HTTP for {at}");
                    HttpTarget::Local(component.clone())
                }
                None => {
                    tracing::info!(
                        "forwarding HTTP for {at} to {}{}",
                        crate::interfaces::wrpc_http::INSTANCE,
                        r.link
                            .as_deref()
                            .map(|l| format!(" via link {l}"))
                            .unwrap_or_default()
                    );
                    HttpTarget::Forward {
                        link: r.link.clone(),
                    }
                }
            };
            http_routes.push(HttpRoute {
                host: r.host.as_ref().map(|h| h.to_ascii_lowercase()),
                path_prefix: r.path_prefix.clone(),
                target,
            });
        }
        let gateway = Arc::new(
            Gateway::new(
                info.clone(),
                catalog.clone(),
                router.clone(),
                limits,
                usize::try_from(cfg.http.max_body_bytes.0).unwrap_or(usize::MAX),
                cfg.mesh.default_timeout.get(),
            )
            .with_routes(http_routes),
        );
        let admin = if cfg.admin.enabled {
            let a = AdminListener::start(
                cfg.admin.listen,
                info.clone(),
                catalog.clone(),
                gateway.clone(),
            )
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
                .filter(|_| serves_nats)
                .map(|l| l.prefix.clone()),
            quic: quic
                .as_ref()
                .filter(|q| !q.local_addr.ip().is_unspecified() && serves_quic)
                .map(|q| q.local_addr.to_string()),
            server_name: Some(cfg.quic.server_name.clone()),
            instances,
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
        ready.push(format!("components={}", names.join(",")));
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
            _ticker: ticker,
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
