//! Where a call may go: the resolution order (a named link, a local component, a route,
//! discovery) turned into the list of providers for one instance.

use std::time::Instant;

use witmesh_config::{HostPort, PeerConfig, RouteConfig, Transport};
use witmesh_proto::wit::version;

use super::Router;
use crate::call::{Address, Provider, Target};

impl Router {
    /// Whether anything could ever serve `instance`: a local component, a route or link, or
    /// discovery.
    pub fn could_serve(&self, instance: &str, local_exports: &[String]) -> bool {
        self.discovered.is_some()
            || local_exports
                .iter()
                .any(|e| version::compatible(instance, e))
            || self.routed(instance)
    }

    pub(super) fn peer_address(
        &self,
        peer: &PeerConfig,
        via: Transport,
        prefix: Option<&str>,
    ) -> Option<Address> {
        match via {
            Transport::Nats => prefix
                .or(peer.nats_prefix.as_deref())
                .map(|p| Address::Nats {
                    prefix: p.to_owned(),
                }),
            Transport::Quic => peer.quic.clone().map(|addr| Address::Quic {
                server_name: peer.tls_server_name(&self.quic_cfg).to_owned(),
                addr,
            }),
        }
    }

    pub(super) fn providers(
        &self,
        instance: &str,
        func: Option<&str>,
        link: Option<&str>,
    ) -> (Vec<Provider>, Option<&RouteConfig>, Vec<&'static str>) {
        let mut searched = Vec::new();
        if let Some(name) = link.filter(|n| *n != "default") {
            searched.push("link");
            let covering = self.mesh.links.iter().find(|l| {
                l.name == name && l.interfaces.iter().any(|p| pattern_matches(p, instance))
            });
            if let Some(l) = covering {
                let address = match (&l.nats_prefix, &l.peer) {
                    (Some(prefix), _) => Some(Address::Nats {
                        prefix: prefix.clone(),
                    }),
                    (None, Some(peer)) => {
                        self.peers.iter().find(|p| &p.name == peer).and_then(|p| {
                            self.peer_address(
                                p,
                                if p.quic.is_some() {
                                    Transport::Quic
                                } else {
                                    Transport::Nats
                                },
                                None,
                            )
                        })
                    }
                    (None, None) => None,
                };
                if let Some(address) = address {
                    return (
                        vec![Provider {
                            node: format!("link {name}"),
                            instance: instance.to_owned(),
                            target: Target::Remote(address),
                            source: format!("link:{name}"),
                        }],
                        None,
                        searched,
                    );
                }
            }
        }
        searched.push("local components");
        if let Ok(local) = self.local.read() {
            let mut components = std::collections::HashSet::new();
            let found: Vec<Provider> = local
                .iter()
                .filter(|(i, l)| {
                    version::compatible(instance, i)
                        && match func {
                            Some(f) => l.func().is_some_and(|e| e.name == f),
                            None => components.insert(l.component.name().to_owned()),
                        }
                })
                .map(|(i, l)| Provider {
                    node: self.node.to_string(),
                    instance: i.clone(),
                    target: Target::Local(l.clone()),
                    source: "local".to_owned(),
                })
                .collect();
            if !found.is_empty() {
                return (found, None, searched);
            }
        }
        searched.push("routes");
        if let Some(route) = RouteConfig::best(&self.routes, instance) {
            let mut found = Vec::new();
            if route.peers.is_empty() {
                if let (Transport::Nats, Some(prefix)) = (route.via, &route.nats_prefix) {
                    found.push(Provider {
                        node: format!("nats:{prefix}"),
                        instance: instance.to_owned(),
                        target: Target::Remote(Address::Nats {
                            prefix: prefix.clone(),
                        }),
                        source: "route".to_owned(),
                    });
                }
            }
            for name in &route.peers {
                if let Some(peer) = self.peers.iter().find(|p| &p.name == name) {
                    if let Some(address) =
                        self.peer_address(peer, route.via, route.nats_prefix.as_deref())
                    {
                        found.push(Provider {
                            node: peer.name.clone(),
                            instance: instance.to_owned(),
                            target: Target::Remote(address),
                            source: "route".to_owned(),
                        });
                    }
                }
            }
            return (found, Some(route), searched);
        }
        if let Some(table) = &self.discovered {
            searched.push("discovery");
            let mut found = Vec::new();
            for known in table.live(Instant::now()) {
                let a = &known.announcement;
                if *a.node == *self.node {
                    continue;
                }
                for provided in a
                    .instances
                    .iter()
                    .filter(|p| version::compatible(instance, p))
                {
                    let quic = a
                        .quic
                        .as_deref()
                        .and_then(|q| q.parse::<HostPort>().ok())
                        .filter(|_| self.quic.can_dial());
                    let address = match (quic, &a.nats_prefix, &self.nats) {
                        (Some(addr), _, _) => Address::Quic {
                            addr,
                            server_name: a
                                .server_name
                                .clone()
                                .unwrap_or_else(|| self.quic_cfg.server_name.clone()),
                        },
                        (None, Some(prefix), Some(_)) => Address::Nats {
                            prefix: prefix.clone(),
                        },
                        _ => continue,
                    };
                    found.push(Provider {
                        node: a.node.clone(),
                        instance: provided.clone(),
                        target: Target::Remote(address),
                        source: "discovery".to_owned(),
                    });
                }
            }
            // Replicas in one NATS queue group share an address: one provider each.
            let mut seen = std::collections::HashSet::new();
            found.retain(|p| seen.insert((p.key(), p.instance.clone())));
            return (found, None, searched);
        }
        (Vec::new(), None, searched)
    }

    /// Whether a route or named link covers `instance`.
    pub fn routed(&self, instance: &str) -> bool {
        self.routes.iter().any(|r| r.matches(instance))
            || self
                .mesh
                .links
                .iter()
                .any(|l| l.interfaces.iter().any(|p| pattern_matches(p, instance)))
    }
}

/// Whether an instance pattern (`name`, or `prefix*`) covers `instance`.
fn pattern_matches(pattern: &str, instance: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => instance.starts_with(prefix),
        None => version::compatible(instance, pattern) || pattern == instance,
    }
}
