//! What a node serves on each transport: its components' endpoints, their wasi:http handlers
//! as `wrpc:http` for other nodes' HTTP listeners, and witmesh's own `witmesh:mesh`.

use std::sync::Arc;

use witmesh_config::Transport;
use witmesh_proto::codec::Limits;

use super::components::Hosted;
use crate::api::{mesh, NodeInfo};
use crate::host::LoadedComponent;
use crate::interfaces::wrpc_http;
use crate::serve::{Endpoint, InFlight};

/// The endpoints and HTTP bridges of each transport, and what the node announces.
pub(super) struct Serving {
    /// Endpoints served over QUIC.
    pub quic: Vec<Endpoint>,
    /// Endpoints served over NATS.
    pub nats: Vec<Endpoint>,
    /// The wasi:http component served as `wrpc:http` over QUIC.
    pub bridge_quic: Option<Arc<LoadedComponent>>,
    /// The wasi:http component served as `wrpc:http` under the node's NATS prefix.
    pub bridge_nats: Option<Arc<LoadedComponent>>,
    /// wasi:http components served under a NATS prefix of their own (`PREFIX.COMPONENT`).
    pub own_prefixes: Vec<Arc<LoadedComponent>>,
    /// The instances announced: the components' (witmesh's own is served by every node).
    pub instances: Vec<String>,
    /// Whether anything is served over NATS.
    pub on_nats: bool,
    /// Whether anything is served over QUIC.
    pub on_quic: bool,
}

impl Serving {
    /// What `hosted` serves (its endpoints move here), with `witmesh:mesh` answering from
    /// `info` wherever no component serves an instance of that name.
    pub(super) fn plan(
        hosted: &mut Hosted,
        info: &Arc<NodeInfo>,
        limits: Limits,
        node_id: &Arc<str>,
        in_flight: &InFlight,
    ) -> Self {
        let (mut quic, mut nats) = (
            std::mem::take(&mut hosted.quic),
            std::mem::take(&mut hosted.nats),
        );
        let mut instances: Vec<String> = Vec::new();
        for e in quic.iter().chain(&nats) {
            if !instances.contains(&e.func().instance) {
                instances.push(e.func().instance.clone());
            }
        }
        // A wasi:http component is also served to HTTP listeners on other nodes, as
        // `wrpc:http/incoming-handler`. That instance name is one per node, so under the
        // node's own prefix (and over QUIC) only when exactly one component serves HTTP; over
        // NATS each is also served under a prefix of its own.
        let http_components: Vec<&Arc<LoadedComponent>> =
            hosted.all.iter().filter(|c| c.serves_http()).collect();
        let bridge = match http_components.as_slice() {
            [one] => Some((*one).clone()),
            [] => None,
            many => {
                tracing::warn!(
                    "{} components serve wasi:http ({}); over NATS each is served under its own prefix only (PREFIX.COMPONENT), and none over QUIC, since {} names one handler per node",
                    many.len(),
                    many.iter().map(|c| &*c.name).collect::<Vec<_>>().join(", "),
                    wrpc_http::INSTANCE
                );
                None
            }
        };
        let own_prefixes: Vec<Arc<LoadedComponent>> = http_components
            .iter()
            .filter(|b| hosted.serves_on(&b.name, Transport::Nats))
            .map(|c| (*c).clone())
            .collect();
        let bridge_on = |t: Transport| bridge.clone().filter(|b| hosted.serves_on(&b.name, t));
        let (bridge_nats, bridge_quic) = (bridge_on(Transport::Nats), bridge_on(Transport::Quic));
        if bridge_nats.is_some() || bridge_quic.is_some() {
            instances.push(wrpc_http::INSTANCE.to_owned());
        }
        let (on_nats, on_quic) = (
            !nats.is_empty() || bridge_nats.is_some(),
            !quic.is_empty() || bridge_quic.is_some(),
        );
        for b in mesh::endpoints(info, limits, node_id, in_flight) {
            if instances.contains(&b.func().instance) {
                tracing::info!(
                    "a component serves {}; witmesh's own is not served",
                    b.func().instance
                );
                continue;
            }
            quic.push(b.clone());
            nats.push(b);
        }
        Serving {
            quic,
            nats,
            bridge_quic,
            bridge_nats,
            own_prefixes,
            instances,
            on_nats,
            on_quic,
        }
    }
}
