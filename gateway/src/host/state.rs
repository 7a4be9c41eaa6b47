//! What one call's store holds: WASI context, resource table, memory limits.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::http::HttpPolicy;

/// Per-call store data.
pub struct CallState {
    /// The component's configured name, for logs.
    pub component: Arc<str>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: super::usage::Meter,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_policy: HttpPolicy,
    /// The running call's deadline: forwarded imports must finish by then.
    pub(crate) deadline: Option<std::time::Instant>,
    /// The links the component selected with `wasmcloud:bus/lattice.set-link-name`, by
    /// versionless interface name.
    pub(crate) links: std::collections::HashMap<String, Arc<str>>,
    /// Handles of resources that live at providers elsewhere, by the rep the component holds.
    pub(crate) remote: super::remote::RemoteTable,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}
