//! Sections about the node itself and the services it exposes to operators: `[node]`,
//! `[http]`, `[admin]`, `[telemetry]` and `[limits]`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use crate::units::{ByteSize, HumanDuration};

/// Default node id.
pub const DEFAULT_NODE_ID: &str = "witmesh"; // stable across restarts and hosts; no hostname lookup in a pure config crate
/// Default time to let in-flight calls finish on shutdown.
pub const DEFAULT_DRAIN_TIMEOUT: HumanDuration = HumanDuration::from_secs(10); // well under Kubernetes' 30s grace period

/// `[node]`: who this node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Name of this node in logs, metrics and telemetry; unique per deployment so operators can
    /// tell nodes apart.
    pub id: String,
    /// Lattice (deployment namespace) this node belongs to, used to scope NATS subjects so
    /// several deployments can share one NATS cluster; `None` for the unscoped default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lattice: Option<String>,
    /// How long shutdown waits for in-flight calls before cancelling them.
    pub drain_timeout: HumanDuration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            id: DEFAULT_NODE_ID.to_owned(),
            lattice: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// Default HTTP gateway listen address.
pub const DEFAULT_HTTP_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080)); // loopback unless the operator opts in
/// Default bound on an HTTP request body.
pub const DEFAULT_MAX_BODY_BYTES: ByteSize = ByteSize::mib(4); // JSON-encoded calls are small; larger payloads belong on wRPC streams

/// `[http]`: the HTTP/JSON gateway that turns requests into wRPC calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether to serve the HTTP gateway; off by default since sidecars usually talk wRPC only.
    pub enabled: bool,
    /// Address the gateway listens on (`ip:port`; port 0 picks a free port).
    #[serde(with = "crate::addr::listen_addr")]
    pub listen: SocketAddr,
    /// Largest request body accepted; bigger requests are refused before they are read whole.
    pub max_body_bytes: ByteSize,
    /// wasi:http components served on this listener, chosen by host and path prefix
    /// (`[[http.routes]]`).
    pub routes: Vec<HttpRouteConfig>,
}

/// `[[http.routes]]`: requests for `host` (any host when unset) whose path starts with
/// `path_prefix` go to `component`, a component of this node exporting
/// `wasi:http/incoming-handler`, or, with `forward = true`, over wRPC to a node of the mesh
/// that serves one (as `wrpc:http/incoming-handler`), found like any forwarded import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRouteConfig {
    /// The `[[components]]` name of a component exporting `wasi:http/incoming-handler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Forward the requests to another node instead (by `[[routes]]`, or discovery).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward: bool,
    /// With `forward`: the `[[mesh.links]]` entry naming where the requests go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The path prefix, starting with `/`; the longest matching prefix wins.
    #[serde(default = "default_path_prefix")]
    pub path_prefix: String,
    /// The `Host` to match (without port); every host when unset.
    #[serde(default)]
    pub host: Option<String>,
}

fn default_path_prefix() -> String {
    "/".to_owned()
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: false,
            listen: DEFAULT_HTTP_LISTEN,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            routes: Vec::new(),
        }
    }
}

/// Default admin (metrics and health) listen address.
pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9464)); // loopback: metrics are for the local scraper unless opted in

/// `[admin]`: the metrics and health endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Whether to serve `/metrics` and health checks; on by default because probes need it.
    pub enabled: bool,
    /// Address the admin endpoint listens on (`ip:port`; port 0 picks a free port).
    #[serde(with = "crate::addr::listen_addr")]
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: true,
            listen: DEFAULT_ADMIN_LISTEN,
        }
    }
}

/// Default log filter.
pub const DEFAULT_LOG_LEVEL: &str = "info"; // lifecycle events without per-call noise
/// Default service name reported to telemetry backends.
pub const DEFAULT_SERVICE_NAME: &str = "witmesh"; // matches the binary name so dashboards find it

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for terminals.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `[telemetry]`: logs and traces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Log filter: a level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or comma-separated
    /// `target=level` directives, as `RUST_LOG` takes them.
    pub log_level: String,
    /// How log lines are written: `"text"` or `"json"`.
    pub log_format: LogFormat,
    /// OTLP/HTTP (protobuf) collector URL to export traces to, e.g. `http://127.0.0.1:4318`
    /// (spans go to `/v1/traces` under it); `None` exports nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// Percent of new traces to record (0-100); a call that arrives with trace context follows
    /// its caller's sampling decision.
    pub trace_sampling_percent: u32,
    /// Service name attached to exported telemetry.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log_level: DEFAULT_LOG_LEVEL.to_owned(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            trace_sampling_percent: 100,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
        }
    }
}

/// Default bound on the encoded parameters or results of one call.
pub const DEFAULT_MAX_CALL_BYTES: ByteSize = ByteSize::mib(64); // large payloads belong in stream<u8>, which is not held whole
/// Default bound on one string or `list<u8>`.
pub const DEFAULT_MAX_STRING_BYTES: ByteSize = ByteSize::mib(16); // no single inline value should dominate a call
/// Default bound on the element count of one list.
pub const DEFAULT_MAX_LIST_LEN: u32 = 1 << 20; // beyond a million elements a stream is the right type
/// Default bound on value nesting.
pub const DEFAULT_MAX_DEPTH: u32 = 64; // deeper than any hand-written WIT type, shallow enough to protect the stack

/// `[limits]`: what the wire codec lets a peer make this node hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most bytes the encoded parameters (or results) of one call may take.
    pub max_call_bytes: ByteSize,
    /// Most bytes of one `string` or `list<u8>`; at most 4GiB - 1, the wire format's bound.
    pub max_string_bytes: ByteSize,
    /// Most elements of one list (other than `list<u8>`) or stream chunk.
    pub max_list_len: u32,
    /// Deepest nesting of lists, records, tuples, variants, options and results.
    pub max_depth: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_call_bytes: DEFAULT_MAX_CALL_BYTES,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_list_len: DEFAULT_MAX_LIST_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
