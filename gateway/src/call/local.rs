//! Calling a component of this node: the router's in-process provider. `host` implements
//! [`Local`] for its components and `route` calls through it, so neither imports the other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use witmesh_proto::{Func, Value};

use super::class::Class;
use super::stream::{ByteStream, StreamAnswer};

/// Why a local component failed a call: its class as callers are told it, and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFailure {
    /// The class told to the caller.
    pub class: Class,
    /// What happened, in the component host's words.
    pub message: String,
}

/// The future of one local call.
pub type LocalCall<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Value>, LocalFailure>> + Send + 'a>>;

/// The future of one local call that streams bytes in or out.
pub type LocalStreamCall<'a> =
    Pin<Box<dyn Future<Output = Result<StreamAnswer, LocalFailure>> + Send + 'a>>;

/// A component of this node that serves calls in-process.
pub trait Local: Send + Sync {
    /// The component's configured name.
    fn name(&self) -> &str;
    /// Its exported function at index `export`.
    fn func(&self, export: usize) -> Option<&Func>;
    /// How many functions it exports.
    fn export_count(&self) -> usize;
    /// Calls export `export` with type-checked `params`, finishing by `deadline`.
    fn call<'a>(&'a self, export: usize, params: &'a [Value], deadline: Instant) -> LocalCall<'a>;
    /// Calls export `export`, whose one parameter or one result is a `stream<u8>`: the
    /// parameter's bytes come from `input`; a stream result arrives as the component writes
    /// it, after the call has returned.
    fn call_stream(
        &self,
        export: usize,
        params: Vec<Value>,
        input: Option<ByteStream>,
        deadline: Instant,
    ) -> LocalStreamCall<'_>;
}

/// One export of a local component.
#[derive(Clone)]
pub struct LocalExport {
    /// The component.
    pub component: Arc<dyn Local>,
    /// Index into its exports.
    pub export: usize,
}

impl LocalExport {
    /// The exported function.
    pub fn func(&self) -> Option<&Func> {
        self.component.func(self.export)
    }
}
