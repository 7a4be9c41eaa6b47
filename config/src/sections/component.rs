//! `[[components]]`: the WebAssembly components this node serves, and their sandbox.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Transport;
use crate::addr::SocketPattern;
use crate::units::{ByteSize, HumanDuration};

/// Default bound on concurrent calls into one component.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 256; // enough to keep a core busy through I/O waits, bounded so memory stays predictable
/// Default time one call into a component may take.
pub const DEFAULT_CALL_TIMEOUT: HumanDuration = HumanDuration::from_secs(30); // generous for request/response work, short enough to free stuck instances
/// Default bound on a component instance's linear memory.
pub const DEFAULT_MEMORY_LIMIT: ByteSize = ByteSize::mib(64); // ample for typical services, and 256 of them fit in 16GiB

/// How instances are used across calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceMode {
    /// Keep instances warm and reuse them for later calls; an instance that failed a call in
    /// any way is discarded, never reused. Fast; state in the component persists between calls.
    #[default]
    Reuse,
    /// A fresh instance for every call: no state survives a call. Costs an instantiation per
    /// call.
    Fresh,
}

fn default_max_concurrency() -> u32 {
    DEFAULT_MAX_CONCURRENCY
}

fn default_call_timeout() -> HumanDuration {
    DEFAULT_CALL_TIMEOUT
}

fn default_memory_limit() -> ByteSize {
    DEFAULT_MEMORY_LIMIT
}

/// One `[[components]]` entry: a component whose exports this node serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// Name in logs and metrics; unique among components. Letters, digits, `-` and `_`.
    pub name: String,
    /// Path to the compiled component (`.wasm`); relative paths are resolved against the config
    /// file's directory when loading, and the resolved path is kept here.
    pub path: PathBuf,
    /// Exported instance names to serve, e.g. `"wasi:keyvalue/store@0.2.0-draft"`; empty serves
    /// every export.
    #[serde(default)]
    pub exports: Vec<String>,
    /// Transports to serve on; empty (or absent) means every enabled transport, and loading
    /// fills that in.
    #[serde(default)]
    pub transports: Vec<Transport>,
    /// Most calls into this component in flight at once; further calls wait.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: u32,
    /// How long one call may run before it is cancelled.
    #[serde(default = "default_call_timeout")]
    pub call_timeout: HumanDuration,
    /// Most linear memory one instance may grow to (an integer or e.g. `"64MiB"`).
    #[serde(default = "default_memory_limit")]
    pub memory_limit: ByteSize,
    /// Whether calls reuse warm instances (`"reuse"`, the default) or each get a fresh one
    /// (`"fresh"`).
    #[serde(default)]
    pub instances: InstanceMode,
    /// What the component may touch through WASI; nothing by default.
    #[serde(default)]
    pub wasi: WasiPolicy,
    /// Whether `transports` came from the file: when it did not, the transports enabled
    /// later (by command-line flags) apply too.
    #[serde(skip)]
    pub transports_given: Given,
    /// Whether the binary brings this component's bytes itself (the bundled demo): its `path`
    /// names no file, so none is checked.
    #[serde(skip)]
    pub bundled: Given,
}

/// Where a value came from: the file, or a default. Not part of what the configuration means,
/// so two configurations that differ only in it are equal.
#[derive(Clone, Copy, Debug, Default)]
pub struct Given(pub bool);

impl PartialEq for Given {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Given {}

impl ComponentConfig {
    /// A component entry with every default: what `witmesh up --component PATH` builds.
    #[must_use]
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ComponentConfig {
            name: name.into(),
            path: path.into(),
            exports: Vec::new(),
            transports: Vec::new(),
            max_concurrency: default_max_concurrency(),
            call_timeout: default_call_timeout(),
            memory_limit: default_memory_limit(),
            instances: InstanceMode::default(),
            wasi: WasiPolicy::default(),
            transports_given: Given(false),
            bundled: Given(false),
        }
    }

    /// The entry for a component whose bytes the binary brings itself, described by `path`.
    #[must_use]
    pub fn bundled(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ComponentConfig {
            bundled: Given(true),
            ..ComponentConfig::new(name, path)
        }
    }
}

/// `[components.wasi]`: the capabilities a component gets. Everything is denied unless listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WasiPolicy {
    /// Host directories visible to the component, and where.
    pub preopens: Vec<Preopen>,
    /// Addresses the component may connect to or bind, e.g. `"127.0.0.1:6379"`,
    /// `"10.0.0.0/8:443"` or `"127.0.0.1:*"`.
    pub allow_sockets: Vec<SocketPattern>,
    /// Host names outgoing `wasi:http` requests may go to, e.g. `"api.example.com"` or
    /// `"*.example.com"` (a leading `*.` matches any subdomain).
    pub allow_http_hosts: Vec<String>,
    /// Environment variables the component sees; the host's own are never inherited.
    pub env: BTreeMap<String, String>,
    /// Whether the component's stdout and stderr go to the node's (stdin is always closed);
    /// off so components cannot write into the node's structured logs unasked.
    pub inherit_stdio: bool,
}

/// One `preopens` entry: a host directory mounted into the component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preopen {
    /// Directory on the host; relative paths are resolved against the config file's directory.
    pub host: PathBuf,
    /// Path the component sees it at, e.g. `"/data"`.
    pub guest: String,
    /// Whether the component may create, modify and delete files there; read-only by default.
    #[serde(default)]
    pub writable: bool,
}
