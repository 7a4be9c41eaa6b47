//! The `witmesh:mesh` interfaces (`health`, `discovery`) as wRPC endpoints, so any wRPC
//! program (a native one included) can ask a sidecar what the mesh serves.

use std::sync::Arc;

use witmesh_proto::codec::Limits;
use witmesh_proto::wit::reflect;
use witmesh_proto::{Func, Value};

use super::{Location, NodeInfo, Peer, Status, Via};
use crate::host::CallError;
use crate::serve::{self, Builtin, Implementation, InFlight};

/// The package every sidecar serves about itself.
pub const PACKAGE: &str = "witmesh:mesh";

/// `witmesh:mesh` served from a node's view.
struct MeshApi {
    info: Arc<NodeInfo>,
}

impl Builtin for MeshApi {
    fn call(&self, function: &str, params: &[Value]) -> Result<Vec<Value>, CallError> {
        let info = &self.info;
        let result = match (function, params) {
            ("check", []) => status(&info.status()),
            ("peers", []) => Value::List(info.peers().iter().map(peer).collect()),
            ("lookup", [Value::String(instance)]) => {
                Value::List(info.lookup(instance).iter().map(endpoint).collect())
            }
            ("instances", []) => strings(&info.instances()),
            ("wit", [Value::String(instance)]) => Value::Option(
                info.wit(instance)
                    .map(|files| Box::new(reflect::files_value(&files))),
            ),
            _ => {
                return Err(CallError::Trap(format!(
                    "witmesh:mesh has no function `{function}` taking {} parameters",
                    params.len()
                )))
            }
        };
        Ok(vec![result])
    }
}

/// Every function of `witmesh:mesh`, answering from `info`.
pub fn endpoints(
    info: &Arc<NodeInfo>,
    limits: Limits,
    node: &Arc<str>,
    in_flight: &InFlight,
) -> Vec<serve::Endpoint> {
    let set = reflect::mesh();
    let imp: Arc<dyn Builtin> = Arc::new(MeshApi { info: info.clone() });
    let mut out = Vec::new();
    for (instance, funcs) in set.instances() {
        // The built-in WIT uses only types the wire carries (tested in proto-wit).
        for func in funcs
            .into_iter()
            .filter_map(|f| Func::new(set, &instance, f).ok())
        {
            out.push(serve::Endpoint {
                imp: Implementation::Builtin {
                    func: Arc::new(func),
                    imp: imp.clone(),
                },
                limits,
                node: node.clone(),
                in_flight: in_flight.clone(),
            });
        }
    }
    out
}

fn strings(v: &[String]) -> Value {
    Value::List(v.iter().cloned().map(Value::String).collect())
}

fn opt(v: &Option<String>) -> Value {
    Value::Option(v.clone().map(|s| Box::new(Value::String(s))))
}

fn status(s: &Status) -> Value {
    Value::Record(vec![
        Value::String(s.node.clone()),
        Value::Bool(s.ready),
        strings(&s.components),
        strings(&s.instances),
        Value::U64(s.in_flight),
        Value::U64(s.uptime_ms),
    ])
}

fn peer(p: &Peer) -> Value {
    Value::Record(vec![
        Value::String(p.node.clone()),
        opt(&p.nats_prefix),
        opt(&p.quic),
        strings(&p.instances),
        Value::U64(p.load),
        Value::U64(p.expires_in_ms),
    ])
}

fn endpoint(e: &Location) -> Value {
    Value::Record(vec![
        Value::String(e.instance.clone()),
        Value::String(e.node.clone()),
        Value::Enum(match e.transport {
            Via::Nats => 0,
            Via::Quic => 1,
        }),
        Value::String(e.address.clone()),
        opt(&e.server_name),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::BytesMut;
    use witmesh_proto::codec::encode_values;

    use super::*;
    use witmesh_proto::WitSet;

    fn set() -> &'static WitSet {
        reflect::mesh()
    }

    /// Each builder's value encodes with the WIT types it claims, so a change to one side
    /// without the other fails here rather than on the wire.
    #[test]
    fn values_match_the_wit() {
        let set = set();
        let s = Status {
            node: "a".into(),
            ready: true,
            components: vec!["greeter".into()],
            instances: vec!["local:greeter-demo/greet".into()],
            in_flight: 2,
            uptime_ms: 10,
        };
        let p = Peer {
            node: "b".into(),
            nats_prefix: Some("p".into()),
            quic: None,
            server_name: Some("localhost".into()),
            instances: vec![],
            admin: None,
            load: 1,
            expires_in_ms: 5,
        };
        let e = Location {
            instance: "a:b/c@1.0.0".into(),
            node: "b".into(),
            transport: Via::Quic,
            address: "127.0.0.1:1".into(),
            server_name: None,
        };
        for (instance, func, value) in [
            ("witmesh:mesh/health@0.1.0", "check", status(&s)),
            (
                "witmesh:mesh/discovery@0.1.0",
                "peers",
                Value::List(vec![peer(&p)]),
            ),
            (
                "witmesh:mesh/discovery@0.1.0",
                "lookup",
                Value::List(vec![endpoint(&e)]),
            ),
            (
                "witmesh:mesh/discovery@0.1.0",
                "instances",
                strings(&["x".into()]),
            ),
        ] {
            let f = set.func(instance, func).unwrap();
            let mut out = BytesMut::new();
            encode_values(&f.results, &f.result_labels, &[value], &mut out)
                .unwrap_or_else(|e| panic!("{func}: {e}"));
            assert!(!out.is_empty());
        }
    }

    #[test]
    fn every_function_of_the_package_is_implemented() {
        let set = set();
        let names: Vec<String> = set
            .instances()
            .into_iter()
            .flat_map(|(i, fs)| fs.into_iter().map(move |f| format!("{i}.{}", f.name)))
            .collect();
        assert_eq!(
            names.len(),
            5,
            "a function was added to witmesh:mesh; implement it in MeshApi: {names:?}"
        );
    }
}
