//! Forwarding a component's import to the mesh. `route` implements [`Forward`] and `host`
//! links imports to it, so neither imports the other; `node` hands one to the other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use witmesh_proto::{Func, Value};

use super::error::ForwardError;
use super::stream::{ByteStream, StreamAnswer};
use super::target::Issuer;

/// A boxed future of a forwarded call.
pub type Forwarding<'a, T> = Pin<Box<dyn Future<Output = Result<T, ForwardError>> + Send + 'a>>;

/// Who makes a forwarded call.
#[derive(Clone, Copy, Debug)]
pub struct Importer<'a> {
    /// The calling component.
    pub component: &'a str,
    /// The link name it selected (`wasmcloud:bus/lattice.set-link-name`), if any.
    pub link: Option<&'a str>,
    /// When the calling call must finish: the forwarded call ends by then at the latest.
    pub deadline: Option<Instant>,
}

/// Where a component's unprovided imports go.
pub trait Forward: Send + Sync {
    /// Calls `func` with `params` for `from`; sent only to `issuer` when it is given (the call
    /// passes resource handles that provider issued). Also returns the provider that
    /// answered, where resource handles in the results live.
    fn call<'a>(
        &'a self,
        from: Importer<'a>,
        func: &'a Func,
        params: Vec<Value>,
        issuer: Option<&'a Issuer>,
    ) -> Forwarding<'a, (Vec<Value>, Issuer)>;

    /// Calls `func`, whose one parameter or one result is a `stream<u8>`, for `from`; the
    /// parameter stream's bytes come from `input`.
    fn call_stream<'a>(
        self: Arc<Self>,
        from: Importer<'a>,
        func: &'a Func,
        params: Vec<Value>,
        input: Option<ByteStream>,
    ) -> Forwarding<'a, StreamAnswer>;

    /// Whether anything could ever serve `instance` (a route, a link, discovery, or a
    /// component registered later).
    fn could_serve(&self, instance: &str) -> bool;
}
