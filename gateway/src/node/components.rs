//! The components a node hosts: read and decoded once, compiled on the engine their ABI needs,
//! linked (their unprovided imports to the mesh), registered with the router and made
//! endpoints.

use std::sync::Arc;

use anyhow::Context as _;
use witmesh_config::{ComponentConfig, Config, Transport};
use witmesh_proto::codec::Limits;
use witmesh_proto::WitSet;

use super::ComponentSource;
use crate::call::Forward;
use crate::host::{
    new_engine, spawn_epoch_ticker, Abi, EpochTicker, LoadError, LoadedComponent, Policy, PoolSize,
};
use crate::route::Router;
use crate::serve::{Endpoint, InFlight};

/// A component read from its file: configuration, bytes, WIT and ABI.
pub(super) struct Source<'a> {
    config: &'a ComponentConfig,
    bytes: Vec<u8>,
    wit: WitSet,
    abi: Abi,
}

/// Reads and decodes each component once: the ABI it is built for picks its engine.
pub(super) fn read(components: Vec<ComponentSource<'_>>) -> anyhow::Result<Vec<Source<'_>>> {
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
        sources.push(Source {
            config: c,
            bytes,
            wit,
            abi,
        });
    }
    Ok(sources)
}

/// The engines the components need, one per ABI, and the clock that interrupts them.
pub(super) struct Engines {
    sync: Option<wasmtime::Engine>,
    asynchronous: Option<wasmtime::Engine>,
    /// Ticks every engine's epoch while the node runs.
    pub ticker: EpochTicker,
}

impl Engines {
    /// An engine for each ABI `sources` use, its pool sized for them. A node without
    /// components still gets the plain engine (it costs nothing until used).
    pub(super) fn for_sources(sources: &[Source<'_>]) -> anyhow::Result<Self> {
        let pool_of = |abi: Abi| PoolSize {
            instances: sources
                .iter()
                .filter(|s| s.abi == abi)
                // Each component's concurrency, and one resident instance for exported
                // resources.
                .map(|s| s.config.max_concurrency.max(1).saturating_add(1))
                .fold(0u32, u32::saturating_add),
            max_memory: sources
                .iter()
                .filter(|s| s.abi == abi)
                .map(|s| usize::try_from(s.config.memory_limit.0).unwrap_or(usize::MAX))
                .max()
                .unwrap_or(0),
        };
        let engine_for = |abi: Abi| -> anyhow::Result<Option<wasmtime::Engine>> {
            let wanted =
                sources.iter().any(|s| s.abi == abi) || (abi == Abi::Sync && sources.is_empty());
            wanted.then(|| new_engine(pool_of(abi), abi)).transpose()
        };
        let sync = engine_for(Abi::Sync)?;
        let asynchronous = engine_for(Abi::Async)?;
        let engines: Vec<wasmtime::Engine> =
            sync.iter().chain(asynchronous.iter()).cloned().collect();
        let ticker = spawn_epoch_ticker(engines).context("cannot start the epoch clock")?;
        Ok(Engines {
            sync,
            asynchronous,
            ticker,
        })
    }

    fn of(&self, abi: Abi) -> anyhow::Result<&wasmtime::Engine> {
        match abi {
            Abi::Async => self.asynchronous.as_ref(),
            Abi::Sync => self.sync.as_ref(),
        }
        .context("no engine for a component's ABI")
    }
}

/// The loaded components and the endpoints they serve, by transport.
pub(super) struct Hosted {
    /// Every component, in configuration order.
    pub all: Vec<Arc<LoadedComponent>>,
    /// Their configurations.
    pub configs: Vec<ComponentConfig>,
    /// The components' endpoints served over QUIC (until [`super::Serving::plan`] takes them).
    pub quic: Vec<Endpoint>,
    /// The components' endpoints served over NATS (until [`super::Serving::plan`] takes them).
    pub nats: Vec<Endpoint>,
    /// Their names, for the ready line.
    pub names: Vec<String>,
}

impl Hosted {
    /// Whether the component named `name` serves on `transport`.
    pub(super) fn serves_on(&self, name: &str, transport: Transport) -> bool {
        self.configs
            .iter()
            .any(|c| c.name == name && c.transports.contains(&transport))
    }
}

/// Compiles and links each of `sources` on its engine (imports nothing here provides go to
/// `router`), registers its exports with the router and makes them endpoints.
pub(super) async fn load(
    sources: Vec<Source<'_>>,
    engines: &Engines,
    router: &Arc<Router>,
    limits: Limits,
    node_id: &Arc<str>,
    in_flight: &InFlight,
) -> anyhow::Result<Hosted> {
    let mut hosted = Hosted {
        all: Vec::new(),
        configs: sources.iter().map(|s| s.config.clone()).collect(),
        quic: Vec::new(),
        nats: Vec::new(),
        names: Vec::new(),
    };
    for Source {
        config: c,
        bytes,
        wit,
        abi,
    } in sources
    {
        let (engine, name, path, policy, only) = (
            engines.of(abi)?.clone(),
            c.name.clone(),
            c.path.clone(),
            policy(c),
            c.exports.clone(),
        );
        let forward: Arc<dyn Forward> = router.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            LoadedComponent::load(
                &engine,
                &name,
                &bytes,
                wit,
                &path,
                policy,
                &only,
                Some(&forward),
            )
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
        hosted.all.push(loaded.clone());
        let eps = Endpoint::all(&loaded, limits, node_id, in_flight);
        if c.transports.contains(&Transport::Quic) {
            hosted.quic.extend(eps.iter().cloned());
        }
        if c.transports.contains(&Transport::Nats) {
            hosted.nats.extend(eps);
        }
        hosted.names.push(c.name.clone());
    }
    Ok(hosted)
}

/// The instances the components import from the mesh. An import is missing only when nothing
/// could ever serve it: no component here, no route or link, and no discovery.
pub(super) fn forwarded_imports(hosted: &Hosted, router: &Router) -> anyhow::Result<Vec<String>> {
    let exports: Vec<String> = hosted
        .all
        .iter()
        .flat_map(|c| c.exports.iter().map(|e| e.func.instance.clone()))
        .collect();
    let mut forwarded = Vec::new();
    for c in &hosted.all {
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
    Ok(forwarded)
}

/// The codec's bounds on values from the wire.
pub(super) fn limits(cfg: &Config) -> Limits {
    Limits {
        max_call_bytes: usize::try_from(cfg.limits.max_call_bytes.0).unwrap_or(usize::MAX),
        max_string_bytes: u32::try_from(cfg.limits.max_string_bytes.0).unwrap_or(u32::MAX),
        max_list_len: cfg.limits.max_list_len,
        max_depth: cfg.limits.max_depth,
    }
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
