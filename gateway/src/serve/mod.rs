//! Serving one invocation: read and type-check the parameters, call the component (or one of
//! witmesh's own functions), encode and send the results. Transports hand each invocation's
//! byte streams here.

mod handler;
pub mod http_bridge;

pub use handler::{handle, CallMeta, Report, ServeError};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use witmesh_proto::codec::{values_async_paths, Limits};
use witmesh_proto::{Func, Value};

use crate::host::{CallError, LoadedComponent};

/// How long one of witmesh's own functions may take when the caller sent no deadline.
pub const BUILTIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A function witmesh implements itself (the `witmesh:mesh` interfaces), served beside the
/// components' exports with the same decoding, type checks and failure reports.
pub trait Builtin: Send + Sync {
    /// Calls `function` of the builtin's instance with type-checked `params`.
    fn call(&self, function: &str, params: &[Value]) -> Result<Vec<Value>, CallError>;
}

/// What implements a served function.
#[derive(Clone)]
pub enum Implementation {
    /// An export of a hosted component.
    Component {
        /// The component.
        component: Arc<LoadedComponent>,
        /// Index into the component's exports.
        export: usize,
    },
    /// One of witmesh's own functions.
    Builtin {
        /// The function's resolved types and names.
        func: Arc<Func>,
        /// The implementation.
        imp: Arc<dyn Builtin>,
    },
}

/// A served function: what implements it and how it is bounded.
#[derive(Clone)]
pub struct Endpoint {
    /// What implements it.
    pub imp: Implementation,
    /// Bounds on the parameters read from the wire.
    pub limits: Limits,
    /// This node's id, named in failure reports.
    pub node: Arc<str>,
    /// Calls being served by this node, over every endpoint.
    pub in_flight: InFlight,
}

/// A count of the calls a node is serving, shared by its endpoints.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<AtomicU64>);

impl InFlight {
    /// Calls being served now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one call until the guard drops.
    fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(self.0.clone())
    }
}

/// One call counted in [`InFlight`].
struct InFlightGuard(Arc<AtomicU64>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Endpoint {
    /// Every export of `component` as an endpoint.
    pub fn all(
        component: &Arc<LoadedComponent>,
        limits: Limits,
        node: &Arc<str>,
        in_flight: &InFlight,
    ) -> Vec<Endpoint> {
        (0..component.exports.len())
            .map(|export| Endpoint {
                imp: Implementation::Component {
                    component: component.clone(),
                    export,
                },
                limits,
                node: node.clone(),
                in_flight: in_flight.clone(),
            })
            .collect()
    }

    /// The function's resolved types and names.
    pub fn func(&self) -> &Func {
        match &self.imp {
            Implementation::Component { component, export } => &component.exports[*export].func,
            Implementation::Builtin { func, .. } => func,
        }
    }

    /// Who implements it, for logs and failure reports: the component's name, or `witmesh`.
    pub fn owner(&self) -> &str {
        match &self.imp {
            Implementation::Component { component, .. } => &component.name,
            Implementation::Builtin { .. } => "witmesh",
        }
    }

    /// The longest a call may run when the caller sent no shorter deadline.
    pub fn call_timeout(&self) -> Duration {
        match &self.imp {
            Implementation::Component { component, .. } => component.call_timeout(),
            Implementation::Builtin { .. } => BUILTIN_TIMEOUT,
        }
    }

    /// The async paths of the parameters, in the form wRPC transports take.
    pub fn param_paths(&self) -> Arc<[Box<[Option<usize>]>]> {
        values_async_paths(&self.func().params)
            .into_iter()
            .map(|p| p.into_iter().map(|s| s.map(|i| i as usize)).collect())
            .collect()
    }
}
