//! What a node tells about itself and the mesh: its health, the peers it knows, what serves
//! which instance, and where its forwarded imports go. One view, served two ways: as the
//! `witmesh:mesh` WIT interfaces over wRPC ([`mesh`]) and as JSON on the admin listener.

pub mod catalog;
pub mod mesh;
pub mod redact;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use witmesh_proto::wit::reflect;

use crate::host::LoadedComponent;
use crate::route::discovery::{Announcement, Table};
use crate::route::{RouteView, Router};
use crate::serve::InFlight;
use witmesh_proto::wit::version;

/// A node's liveness and readiness (`witmesh:mesh/health.status`).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The node's id.
    pub node: String,
    /// Whether it takes calls: its listeners are up and it is not draining.
    pub ready: bool,
    /// The components it hosts.
    pub components: Vec<String>,
    /// The wRPC instances it serves.
    pub instances: Vec<String>,
    /// Calls being served now.
    pub in_flight: u64,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
}

/// A node of the mesh (`witmesh:mesh/discovery.peer`).
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// The node's id.
    pub node: String,
    /// The NATS prefix it serves under.
    pub nats_prefix: Option<String>,
    /// The QUIC `host:port` it serves on.
    pub quic: Option<String>,
    /// The TLS name of its QUIC certificate.
    pub server_name: Option<String>,
    /// The wRPC instances it serves.
    pub instances: Vec<String>,
    /// Its admin listener, when it announced one.
    pub admin: Option<String>,
    /// Calls in flight there when it last announced.
    pub load: u64,
    /// Milliseconds until it is forgotten unless it announces again; 0 for this node.
    pub expires_in_ms: u64,
}

/// A transport an endpoint is served over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// NATS subjects under a prefix.
    Nats,
    /// QUIC streams to an address.
    Quic,
}

/// Where one instance is served (`witmesh:mesh/discovery.endpoint`).
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    /// The provider's instance, with its own version.
    pub instance: String,
    /// The node serving it.
    pub node: String,
    /// The transport.
    pub transport: Via,
    /// NATS prefix or QUIC `host:port`.
    pub address: String,
    /// The TLS name for QUIC endpoints.
    pub server_name: Option<String>,
}

/// Everything a node knows about itself and the mesh, shared by the wRPC and admin views.
pub struct NodeInfo {
    node: String,
    started: Instant,
    components: Vec<Arc<LoadedComponent>>,
    config: serde_json::Value,
    /// Set once the listeners are bound: what this node serves, and where.
    me: OnceLock<Announcement>,
    shutdown: CancellationToken,
    in_flight: InFlight,
    table: Option<Arc<Table>>,
    router: Arc<Router>,
    forwarded: Vec<String>,
}

impl NodeInfo {
    /// The components this node hosts.
    pub fn components(&self) -> &[Arc<LoadedComponent>] {
        &self.components
    }

    /// The view of a node that hosts `components`, forwards `forwarded` through `router`,
    /// hears peers in `table` (when discovery is on), serves calls tracked by `in_flight` and
    /// stops being ready when `shutdown` is cancelled.
    pub fn new(
        node: &str,
        components: Vec<Arc<LoadedComponent>>,
        forwarded: Vec<String>,
        router: Arc<Router>,
        table: Option<Arc<Table>>,
        shutdown: CancellationToken,
        in_flight: InFlight,
    ) -> Self {
        NodeInfo {
            node: node.to_owned(),
            started: Instant::now(),
            components,
            config: serde_json::Value::Null,
            me: OnceLock::new(),
            shutdown,
            in_flight,
            table,
            router,
            forwarded,
        }
    }

    /// Keeps the effective configuration, secrets hidden, for `/v1/config`.
    #[must_use]
    pub fn with_config(mut self, cfg: &witmesh_config::Config) -> Self {
        self.config = redact::redacted(cfg);
        self
    }

    /// The effective configuration, secrets hidden.
    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }

    /// Records what this node serves and where, once its listeners are bound; from then on it
    /// reports itself ready (until it drains).
    pub fn set_serving(&self, me: Announcement) {
        let _ = self.me.set(me);
    }

    /// Whether the node takes calls.
    pub fn ready(&self) -> bool {
        self.me.get().is_some() && !self.shutdown.is_cancelled()
    }

    /// The node's status.
    pub fn status(&self) -> Status {
        Status {
            node: self.node.clone(),
            ready: self.ready(),
            components: self.components.iter().map(|c| c.name.to_string()).collect(),
            instances: self
                .me
                .get()
                .map(|m| m.instances.clone())
                .unwrap_or_default(),
            in_flight: self.in_flight.get(),
            uptime_ms: millis(self.started.elapsed()),
        }
    }

    /// Every node known now, this one first.
    pub fn peers(&self) -> Vec<Peer> {
        let now = Instant::now();
        let mut out = Vec::new();
        if let Some(me) = self.me.get() {
            out.push(peer(me, 0));
        }
        if let Some(table) = &self.table {
            for k in table.live(now) {
                if k.announcement.node != self.node {
                    let left = k.expires.saturating_duration_since(now);
                    out.push(peer(&k.announcement, millis(left).max(1)));
                }
            }
        }
        out
    }

    /// The endpoints whose instance can serve an import of `instance`, this node's first.
    pub fn lookup(&self, instance: &str) -> Vec<Location> {
        let mut out = Vec::new();
        for p in self.peers() {
            for provided in p
                .instances
                .iter()
                .filter(|i| version::compatible(instance, i))
            {
                let endpoint = |transport, address: &String, server_name| Location {
                    instance: provided.clone(),
                    node: p.node.clone(),
                    transport,
                    address: address.clone(),
                    server_name,
                };
                if let Some(prefix) = &p.nats_prefix {
                    out.push(endpoint(Via::Nats, prefix, None));
                }
                if let Some(addr) = &p.quic {
                    out.push(endpoint(Via::Quic, addr, p.server_name.clone()));
                }
            }
        }
        out
    }

    /// Every instance served somewhere in the mesh, sorted, without repeats.
    pub fn instances(&self) -> Vec<String> {
        let mut all: Vec<String> = self.peers().into_iter().flat_map(|p| p.instances).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The WIT of `instance` as this node serves it (one file per package, dependencies
    /// first), or `None` when it does not serve it.
    pub fn wit(&self, instance: &str) -> Option<Vec<(String, String)>> {
        let set = self
            .components
            .iter()
            .find(|c| c.exports.iter().any(|e| e.func.instance == instance))
            .map(|c| &c.wit)
            .or(Some(reflect::mesh()).filter(|_| instance.starts_with(mesh::PACKAGE)))?;
        set.wit_files_of(instance).ok()
    }

    /// The functions of `instance` when a component of this node exports it.
    pub fn local_funcs(&self, instance: &str) -> Option<Vec<witmesh_proto::Func>> {
        let funcs: Vec<witmesh_proto::Func> = self
            .components
            .iter()
            .flat_map(|c| c.exports.iter())
            .filter(|e| e.func.instance == instance)
            .map(|e| e.func.clone())
            .collect();
        (!funcs.is_empty()).then_some(funcs)
    }

    /// Where each forwarded import goes now.
    pub fn routes(&self) -> Vec<RouteView> {
        self.router.view(&self.forwarded)
    }
}

fn peer(a: &Announcement, expires_in_ms: u64) -> Peer {
    Peer {
        node: a.node.clone(),
        nats_prefix: a.nats_prefix.clone(),
        quic: a.quic.clone(),
        server_name: a.server_name.clone(),
        instances: a.instances.clone(),
        admin: a.admin.clone(),
        load: a.load,
        expires_in_ms,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
