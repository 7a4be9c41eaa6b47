//! Serving one invocation: read and type-check the parameters, call the component, encode and
//! send the results. Transports hand each invocation's byte streams here.

mod handler;

pub use handler::{handle, CallMeta, Report, ServeError};

use std::sync::Arc;

use witmesh_proto::codec::{values_async_paths, Limits};
use witmesh_proto::Func;

use crate::host::LoadedComponent;

/// A served function: the component that implements it and which export it is.
#[derive(Clone)]
pub struct Endpoint {
    /// The component.
    pub component: Arc<LoadedComponent>,
    /// Index into the component's exports.
    pub export: usize,
    /// Bounds on the parameters read from the wire.
    pub limits: Limits,
    /// This node's id, named in failure reports.
    pub node: Arc<str>,
}

impl Endpoint {
    /// Every export of `component` as an endpoint.
    pub fn all(component: &Arc<LoadedComponent>, limits: Limits, node: &Arc<str>) -> Vec<Endpoint> {
        (0..component.exports.len())
            .map(|export| Endpoint {
                component: component.clone(),
                export,
                limits,
                node: node.clone(),
            })
            .collect()
    }

    /// The function's resolved types and names.
    pub fn func(&self) -> &Func {
        &self.component.exports[self.export].func
    }

    /// The async paths of the parameters, in the form wRPC transports take.
    pub fn param_paths(&self) -> Arc<[Box<[Option<usize>]>]> {
        values_async_paths(&self.func().params)
            .into_iter()
            .map(|p| p.into_iter().map(|s| s.map(|i| i as usize)).collect())
            .collect()
    }
}
