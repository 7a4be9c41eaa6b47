//! The wasmtime host: loads components, gives them WASI 0.2 under policy, and runs calls.
//!
//! Each call runs in its own instance (warm or fresh, see [`invoke`]): a trap or an exhausted
//! memory limit ends one call and nothing else, and calls to one function run in parallel
//! without locking. Imports nothing here provides are linked to the mesh through
//! [`crate::call::Forward`] (`link`); the router calls this host's components through
//! [`crate::call::Local`].

mod async_imports;
mod boundary;
mod convert;
mod engine;
mod http;
mod imports;
mod incoming;
mod invoke;
mod lattice;
mod link;
mod logging;
mod remote;
mod resident;
mod result_stream;
mod service;
mod state;
mod stdio;
mod typed;
mod usage;
mod wasi;

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};
use wasmtime::Engine;
use witmesh_proto::{Func, Value, WitError, WitSet};

pub use engine::{new_engine, spawn_epoch_ticker, Abi, EpochTicker, PoolSize, EPOCH_TICK};
pub use invoke::CallError;

use crate::call::{
    ByteStream, Forward, Local, LocalCall, LocalFailure, LocalStreamCall, StreamAnswer,
};
use state::CallState;

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// wasmtime rejected the file (not a component, invalid, unsupported feature).
    #[error("`{}` is not a loadable component: {reason}", path.display())]
    Compile {
        /// The path given.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The component's embedded WIT could not be decoded.
    #[error("cannot read the WIT of `{}`: {reason}", path.display())]
    Wit {
        /// The path given.
        path: PathBuf,
        /// The decoder's explanation.
        reason: String,
    },
    /// Imports that neither WASI nor witmesh provides.
    #[error("component `{name}` imports what nothing provides: {}; serve a provider or remove the import", missing.join(", "))]
    MissingImports {
        /// The component's configured name.
        name: String,
        /// Each unsatisfied import, by instance or function name.
        missing: Vec<String>,
    },
    /// An export named in the configuration does not exist.
    #[error("component `{name}` does not export `{export}` (exports: {known})")]
    UnknownExport {
        /// The component's configured name.
        name: String,
        /// The export asked for.
        export: String,
        /// What the component exports.
        known: String,
    },
    /// An export's signature uses a type that cannot be served.
    #[error("component `{name}` cannot be served: {reason}")]
    Unservable {
        /// The component's configured name.
        name: String,
        /// The function and its type.
        reason: String,
    },
    /// Linking failed for a reason other than a missing import.
    #[error("cannot link component `{name}`: {reason}")]
    Link {
        /// The component's configured name.
        name: String,
        /// wasmtime's explanation.
        reason: String,
    },
}

/// How a component may run: its WASI policy and resource limits.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Directories the component may open: (host path, guest path, writable).
    pub preopens: Vec<(PathBuf, String, bool)>,
    /// Socket addresses the component may use; empty denies all network use.
    pub allow_sockets: Vec<witmesh_config::SocketPattern>,
    /// Hosts the component may send HTTP requests to; empty denies all.
    pub allow_http_hosts: Vec<String>,
    /// Environment variables the component sees.
    pub env: Vec<(String, String)>,
    /// Most linear memory the component may grow to, in bytes.
    pub memory_limit: usize,
    /// Longest a call may run.
    pub call_timeout: Duration,
    /// Most calls running at once; more wait for a slot until their deadline.
    pub max_concurrency: usize,
    /// Whether calls reuse warm instances or each get a fresh one.
    pub instances: witmesh_config::InstanceMode,
}

/// A compiled, linked component ready to instantiate per call.
pub struct LoadedComponent {
    /// The configured name, used in logs and metrics.
    pub name: Arc<str>,
    engine: Engine,
    pre: InstancePre<CallState>,
    /// Set when the component exports `wasi:http/incoming-handler`.
    proxy: Option<wasmtime_wasi_http::p2::bindings::ProxyPre<CallState>>,
    /// Set when the component exports `wasi:http/handler@0.3.0` (a WASI 0.3 service).
    service: Option<wasmtime_wasi_http::p3::bindings::ServicePre<CallState>>,
    policy: Policy,
    http_policy: http::HttpPolicy,
    slots: Arc<Semaphore>,
    /// Warm instances between calls (instance mode `reuse`).
    idle: std::sync::Mutex<Vec<invoke::Warm>>,
    /// For a component whose exports pass resources: the one instance that keeps them and
    /// runs the functions passing handles (made on the first call, discarded on a failure).
    resident: Option<tokio::sync::Mutex<Option<resident::Resident>>>,
    /// Live instances and their memory, for metrics.
    usage: Arc<usage::Usage>,
    /// Functions the component exports, as wRPC names them.
    pub exports: Vec<Export>,
    /// Imported instances linked to the router (served by other components or nodes).
    pub forwarded: Vec<String>,
    /// The component's WIT, as it embeds it.
    pub wit: WitSet,
}

/// One exported function.
pub struct Export {
    /// The function's resolved types and names.
    pub func: Func,
    index: ComponentExportIndex,
    /// Whether its parameters or results hold resource handles: it runs in the resident
    /// instance that keeps the resources.
    handles: bool,
    /// The typed call for a signature that carries `list<u8>` and that [`typed`] names; the
    /// others are called with dynamic values.
    typed: Option<typed::TypedCall>,
}

impl Export {
    fn new(func: Func, index: ComponentExportIndex) -> Self {
        // A lone `stream<u8>` parameter is no resource: such a call runs in a pool instance.
        let handles = !crate::call::stream::is_byte_stream(&func.params)
            && func
                .params
                .iter()
                .chain(func.results.iter())
                .any(witmesh_proto::Ty::has_handles);
        let typed = typed::export_call(&func);
        Export {
            func,
            index,
            handles,
            typed,
        }
    }
}

impl LoadedComponent {
    /// Live instances (idle ones included), idle instances, and the bytes of linear memory
    /// the live ones hold.
    pub fn usage(&self) -> (u64, u64, u64) {
        let idle = self.idle.lock().map(|i| i.len() as u64).unwrap_or(0);
        (self.usage.instances(), idle, self.usage.memory_bytes())
    }

    /// The longest one call may take, reading parameters included.
    pub fn call_timeout(&self) -> Duration {
        self.policy.call_timeout
    }

    /// Compiles and links a component (`bytes`, read from `path`, whose WIT is `wit`), checking
    /// its imports, and resolves the exports to serve (`only` empty: all of them). Imports this
    /// host does not provide go to `router` when there is one; without one they are missing.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        engine: &Engine,
        name: &str,
        bytes: &[u8],
        wit: WitSet,
        path: &Path,
        policy: Policy,
        only: &[String],
        router: Option<&Arc<dyn Forward>>,
    ) -> Result<Self, LoadError> {
        let component = Component::new(engine, bytes).map_err(|e| LoadError::Compile {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
        let mut linker = Linker::<CallState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| LoadError::Link {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(|e| {
            LoadError::Link {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            }
        })?;
        // WASI 0.3's imports are async functions: only the async engine can run them.
        let p3 = wit.async_abi();
        if p3 {
            wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(|e| LoadError::Link {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
            wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(|e| LoadError::Link {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
        }
        logging::add_to_linker(&mut linker).map_err(|e| LoadError::Link {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        lattice::add_to_linker(&mut linker).map_err(|e| LoadError::Link {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        let missing = imports::unsatisfied(engine, &component, p3);
        let (forwarded, refused) = match router {
            Some(router) if !missing.is_empty() => {
                link::forward_imports(&mut linker, &wit, &missing, router, &Arc::from(name))?
            }
            _ => (Vec::new(), Vec::new()),
        };
        let unlinked = missing.iter().any(|m| !forwarded.contains(m));
        if unlinked {
            // Failing anyway: list what cannot be linked with its reason, and the forwarded
            // imports no route or discovery could serve (a component loaded later might).
            let unforwardable: Vec<String> = missing
                .into_iter()
                .filter(|m| {
                    !forwarded.contains(m) && !refused.iter().any(|r| r.starts_with(m.as_str()))
                })
                .collect();
            let missing = unforwardable
                .into_iter()
                .chain(refused)
                .chain(
                    forwarded
                        .iter()
                        .filter(|i| !router.is_some_and(|r| r.could_serve(i)))
                        .cloned(),
                )
                .collect();
            return Err(LoadError::MissingImports {
                name: name.to_owned(),
                missing,
            });
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
        let exports = exported_functions(&wit, &component).map_err(|e| LoadError::Unservable {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
        if let Some(reason) = exports.iter().find_map(|e| boundary::refusal(&e.func)) {
            return Err(LoadError::Unservable {
                name: name.to_owned(),
                reason,
            });
        }
        if let Some(export) = only
            .iter()
            .find(|o| !exports.iter().any(|e| &e.func.instance == *o))
        {
            let mut known: Vec<&str> = exports.iter().map(|e| e.func.instance.as_str()).collect();
            known.dedup();
            return Err(LoadError::UnknownExport {
                name: name.to_owned(),
                export: export.clone(),
                known: known.join(", "),
            });
        }
        let exports: Vec<Export> = exports
            .into_iter()
            .filter(|e| only.is_empty() || only.contains(&e.func.instance))
            .collect();
        let name: Arc<str> = Arc::from(name);
        let resident = exports
            .iter()
            .any(|e| e.handles)
            .then(|| tokio::sync::Mutex::new(None));
        Ok(LoadedComponent {
            resident,
            http_policy: http::HttpPolicy {
                component: name.clone(),
                allowed_hosts: policy.allow_http_hosts.clone().into(),
            },
            name,
            engine: engine.clone(),
            proxy: wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre.clone()).ok(),
            service: wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()).ok(),
            pre,
            slots: Arc::new(Semaphore::new(policy.max_concurrency)),
            idle: std::sync::Mutex::new(Vec::new()),
            usage: Arc::default(),
            policy,
            exports,
            forwarded,
            wit,
        })
    }
}

/// The component's exported functions, by wRPC instance and function name, or the first
/// whose signature the wire cannot carry.
fn exported_functions(wit: &WitSet, component: &Component) -> Result<Vec<Export>, WitError> {
    let resolve = wit.resolve();
    let mut out = Vec::new();
    for pkg in wit.main_packages() {
        for world in resolve.packages[*pkg].worlds.values() {
            for (key, item) in &resolve.worlds[*world].exports {
                match item {
                    wit_parser::WorldItem::Interface { id, .. } => {
                        let instance = resolve.name_world_key(key);
                        // Served on HTTP (and to other nodes as `wrpc:http`), not as wRPC: its
                        // parameters are the host's own HTTP resources.
                        if instance.starts_with("wasi:http/incoming-handler@")
                            || instance.starts_with("wasi:http/handler@0.3.")
                        {
                            continue;
                        }
                        let Some(inst_idx) = component.get_export_index(None, &instance) else {
                            continue;
                        };
                        for f in resolve.interfaces[*id].functions.values() {
                            if let Some(index) =
                                component.get_export_index(Some(&inst_idx), &f.name)
                            {
                                out.push(Export::new(Func::new(wit, &instance, f)?, index));
                            }
                        }
                    }
                    wit_parser::WorldItem::Function(f) => {
                        if let Some(index) = component.get_export_index(None, &f.name) {
                            let world_name = &resolve.worlds[*world];
                            let instance = match world_name.package {
                                Some(p) => resolve.id_of_name(p, &world_name.name),
                                None => world_name.name.clone(),
                            };
                            out.push(Export::new(Func::new(wit, &instance, f)?, index));
                        }
                    }
                    wit_parser::WorldItem::Type { .. } => {}
                }
            }
        }
    }
    Ok(out)
}

/// The router calls this node's components through [`Local`].
impl Local for LoadedComponent {
    fn name(&self) -> &str {
        &self.name
    }

    fn func(&self, export: usize) -> Option<&Func> {
        self.exports.get(export).map(|e| &e.func)
    }

    fn export_count(&self) -> usize {
        self.exports.len()
    }

    fn call<'a>(
        &'a self,
        export: usize,
        params: &'a [Value],
        deadline: std::time::Instant,
    ) -> LocalCall<'a> {
        Box::pin(async move {
            let Some(e) = self.exports.get(export) else {
                return Err(no_export(&self.name, export));
            };
            LoadedComponent::call(self, e, params, deadline.into())
                .await
                .map_err(local_failure)
        })
    }

    fn call_stream(
        &self,
        export: usize,
        params: Vec<Value>,
        input: Option<ByteStream>,
        deadline: std::time::Instant,
    ) -> LocalStreamCall<'_> {
        Box::pin(async move {
            let Some(e) = self.exports.get(export) else {
                return Err(no_export(&self.name, export));
            };
            let deadline = deadline.into();
            if crate::call::stream::is_byte_stream(&e.func.results) {
                self.call_to_stream(e, &params, input, deadline)
                    .await
                    .map(StreamAnswer::Stream)
            } else {
                self.call_streaming(e, &params, input, deadline)
                    .await
                    .map(StreamAnswer::Values)
            }
            .map_err(local_failure)
        })
    }
}

fn local_failure(e: CallError) -> LocalFailure {
    LocalFailure {
        class: e.class(),
        message: e.to_string(),
    }
}

fn no_export(component: &str, export: usize) -> LocalFailure {
    LocalFailure {
        class: crate::call::Class::UnknownFunction,
        message: format!("component {component} has no export #{export}"),
    }
}
