//! The types of everything the mesh serves: a component's own WIT for what this node hosts,
//! and, for what other nodes serve, the WIT they reflect (`witmesh:mesh/reflect`), cached for
//! a while. The gateway type-checks calls with it, `/v1/openapi.json` is generated from it,
//! and `witmesh ls` lists it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use witmesh_proto::{Func, WitSet};

use super::NodeInfo;
use crate::call::Class;
use crate::route::Router;
use witmesh_proto::wit::version;

/// How long reflected WIT of a remote instance is trusted before it is asked for again.
const WIT_CACHE_TTL: Duration = Duration::from_secs(30); // providers rarely change their WIT; a redeploy shows within half a minute
/// Most remote instances whose WIT is cached.
const MAX_CACHED: usize = 1024;
/// How long fetching a remote instance's WIT may take.
const REFLECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the types of an instance or function are not at hand.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    /// Nothing in the mesh serves the instance, and no route covers it.
    #[error("no node of the mesh serves `{0}` and no route covers it; `witmesh peers` lists what is served")]
    UnknownInstance(String),
    /// The instance has no such function.
    #[error("`{instance}` has no function `{function}` (functions: {known})")]
    UnknownFunction {
        /// The instance.
        instance: String,
        /// The function asked for.
        function: String,
        /// The functions it has.
        known: String,
    },
    /// No provider answered for its WIT.
    #[error("no provider of `{0}` is available to take the call (none on this node, and no route or discovered peer answered); check `witmesh peers`")]
    Unavailable(String),
    /// The provider's WIT does not load.
    #[error("the provider's WIT for `{instance}` does not load: {reason}")]
    BadWit {
        /// The instance.
        instance: String,
        /// Why.
        reason: String,
    },
}

impl LookupError {
    /// The failure's class, as a call that found no types would fail.
    pub fn class(&self) -> Class {
        match self {
            LookupError::UnknownInstance(_) | LookupError::UnknownFunction { .. } => {
                Class::UnknownFunction
            }
            LookupError::Unavailable(_) => Class::NoProvider,
            LookupError::BadWit { .. } => Class::Internal,
        }
    }
}

/// One instance of the mesh: who serves it and its functions.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The instance.
    pub instance: String,
    /// The nodes serving it.
    pub providers: Vec<String>,
    /// Each function's WIT signature.
    pub functions: Vec<String>,
    /// Why the functions are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A remote instance's functions and when they were fetched.
type Fetched = (Instant, Arc<Vec<Func>>);

/// The mesh's types, as this node can learn them.
pub struct Catalog {
    info: Arc<NodeInfo>,
    router: Arc<Router>,
    remote: Mutex<HashMap<String, Fetched>>,
}

impl Catalog {
    /// A catalog of what `info` knows, asking providers through `router`.
    pub fn new(info: Arc<NodeInfo>, router: Arc<Router>) -> Self {
        Catalog {
            info,
            router,
            remote: Mutex::new(HashMap::new()),
        }
    }

    /// The functions of `instance`. A remote provider's functions carry its own instance name
    /// (its version may differ from the one asked for), so that metrics and routing see only
    /// names that something serves.
    pub async fn funcs(&self, instance: &str) -> Result<Arc<Vec<Func>>, LookupError> {
        if let Some(local) = self.info.local_funcs(instance) {
            return Ok(Arc::new(local));
        }
        let cached = self.remote.lock().ok().and_then(|m| {
            m.get(instance)
                .filter(|(at, _)| at.elapsed() < WIT_CACHE_TTL)
                .map(|(_, f)| f.clone())
        });
        if let Some(f) = cached {
            return Ok(f);
        }
        let Some((provided, files)) = self.router.remote_wit(instance, REFLECT_TIMEOUT).await
        else {
            let known = self
                .info
                .instances()
                .iter()
                .any(|i| version::compatible(instance, i))
                || self.router.routed(instance);
            return Err(if known {
                LookupError::Unavailable(instance.to_owned())
            } else {
                LookupError::UnknownInstance(instance.to_owned())
            });
        };
        let set = WitSet::from_wit_files(&files).map_err(|e| LookupError::BadWit {
            instance: provided.clone(),
            reason: e.to_string(),
        })?;
        let funcs: Vec<Func> = set
            .instances()
            .into_iter()
            .filter(|(i, _)| *i == provided)
            .flat_map(|(i, fs)| {
                // A function the wire cannot carry cannot be called: it is not offered.
                fs.into_iter()
                    .filter_map(|f| Func::new(&set, &i, f).ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        let funcs = Arc::new(funcs);
        if let Ok(mut m) = self.remote.lock() {
            // Asked-for names come from callers: keep the cache bounded.
            if m.len() >= MAX_CACHED {
                m.retain(|_, (at, _)| at.elapsed() < WIT_CACHE_TTL);
            }
            if m.len() < MAX_CACHED {
                m.insert(instance.to_owned(), (Instant::now(), funcs.clone()));
            }
        }
        Ok(funcs)
    }

    /// The WIT files of `instance` (dependencies first), from this node or a provider.
    pub async fn wit_files(&self, instance: &str) -> Option<Vec<(String, String)>> {
        match self.info.wit(instance) {
            Some(files) => Some(files),
            None => self
                .router
                .remote_wit(instance, REFLECT_TIMEOUT)
                .await
                .map(|(_, files)| files),
        }
    }

    /// The function `function` of `instance`.
    pub async fn func(&self, instance: &str, function: &str) -> Result<Func, LookupError> {
        let funcs = self.funcs(instance).await?;
        funcs
            .iter()
            .find(|f| f.name == function)
            .cloned()
            .ok_or_else(|| LookupError::UnknownFunction {
                instance: instance.to_owned(),
                function: function.to_owned(),
                known: funcs
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every instance the mesh serves, with providers and functions.
    pub async fn entries(&self) -> Vec<(Entry, Arc<Vec<Func>>)> {
        let mut out = Vec::new();
        for instance in self.info.instances() {
            let mut providers: Vec<String> = self
                .info
                .lookup(&instance)
                .into_iter()
                .filter(|e| e.instance == instance)
                .map(|e| e.node)
                .collect();
            providers.dedup();
            let (funcs, problem) = match self.funcs(&instance).await {
                Ok(f) => (f, None),
                Err(e) => (Arc::new(Vec::new()), Some(e.to_string())),
            };
            out.push((
                Entry {
                    instance,
                    providers,
                    functions: funcs.iter().map(|f| f.signature.clone()).collect(),
                    problem,
                },
                funcs,
            ));
        }
        out
    }
}
