//! Semantic checks on a deserialized config: everything types alone cannot say.

use std::collections::HashSet;
use std::path::Path;

use crate::addr::is_dns_name;
use crate::sections::Transport;
use crate::units::ByteSize;
use crate::Config;

/// Smallest memory limit a component can run in.
pub const MIN_MEMORY_LIMIT: ByteSize = ByteSize::kib(64); // one WebAssembly page; less and no memory can exist
/// Schemes a NATS URL may use.
pub const NATS_SCHEMES: &[&str] = &["nats", "tls", "ws", "wss"]; // the schemes the NATS client speaks

/// What validation checks beyond the config's own consistency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Whether files the config names (components, certificates, credentials, preopened
    /// directories) must exist. On for real loads; off to check a config meant for another
    /// machine, as the examples are.
    pub check_files: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions { check_files: true }
    }
}

/// A semantic problem: key path and message, located later.
#[derive(Debug)]
pub(crate) struct Finding {
    /// Rendered key path, e.g. `routes[0].peers`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Maps positions in the config's arrays to positions in the file (entries that failed to
/// deserialize are missing from the config), and remembers names of entries that failed.
#[derive(Debug, Default)]
pub(crate) struct DocIndex {
    /// File index of each `Config::components` entry.
    pub components: Vec<usize>,
    /// File index of each `Config::routes` entry.
    pub routes: Vec<usize>,
    /// File index of each `Config::peers` entry.
    pub peers: Vec<usize>,
    /// Names of `[[peers]]` entries that had problems and were dropped; routes naming them are
    /// not reported again.
    pub broken_peers: Vec<String>,
    /// Keys already reported while deserializing (their values were dropped for defaults), so
    /// checks do not report the consequences again.
    pub broken_keys: HashSet<String>,
}

impl DocIndex {
    fn at(list: &[usize], i: usize) -> usize {
        list.get(i).copied().unwrap_or(i)
    }
}

/// Collects findings with their key paths.
struct Checker<'a> {
    cfg: &'a Config,
    opts: &'a ValidateOptions,
    index: &'a DocIndex,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn report(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        if !self.broken(&key) {
            self.findings.push(Finding {
                key,
                message: message.into(),
            });
        }
    }

    /// Whether `key`, or a table it is in, was already reported as unreadable: its value is a
    /// default standing in for what the file meant, so nothing more can be said about it.
    fn broken(&self, key: &str) -> bool {
        self.index.broken_keys.iter().any(|b| {
            key.strip_prefix(b.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// Reports a missing file (or directory when `dir`), if files are checked.
    fn file(&mut self, key: String, path: &Path, dir: bool, what: &str) {
        if !self.opts.check_files {
            return;
        }
        let ok = if dir { path.is_dir() } else { path.is_file() };
        if !ok {
            let kind = if dir { "directory" } else { "file" };
            self.report(
                key,
                format!(
                    "no such {kind} `{}`; give the path to {what} (relative paths are resolved against the config file's directory)",
                    path.display()
                ),
            );
        }
    }
}

/// Runs every check, returning all findings.
pub(crate) fn check(cfg: &Config, opts: &ValidateOptions, index: &DocIndex) -> Vec<Finding> {
    let mut c = Checker {
        cfg,
        opts,
        index,
        findings: Vec::new(),
    };
    node(&mut c);
    nats(&mut c);
    quic(&mut c);
    services(&mut c);
    limits(&mut c);
    components(&mut c);
    peers(&mut c);
    routes(&mut c);
    mesh(&mut c);
    c.findings
}

/// Whether `s` is a plain name: letters, digits, `-`, `_` (and `.` when `dots`).
fn is_name(s: &str, dots: bool) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (dots && c == '.'))
}

/// Why `s` is not a NATS subject prefix (dot-separated non-empty tokens without wildcards or
/// spaces), if it is not.
fn subject_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("empty subject prefix; omit the key instead".into());
    }
    for token in s.split('.') {
        if token.is_empty() {
            return Some(format!(
                "`{s}` has an empty token; subjects are dot-separated words"
            ));
        }
        if token.contains(['*', '>']) || token.chars().any(char::is_whitespace) {
            return Some(format!(
                "`{s}` is not a subject prefix: no wildcards (`*`, `>`) or spaces"
            ));
        }
    }
    None
}

/// Why `url` is not a `scheme://host[:port]` URL with one of `schemes`, if it is not.
fn url_problem(url: &str, schemes: &[&str]) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some(format!(
            "`{url}` has no scheme; write e.g. {}://host:port",
            schemes[0]
        ));
    };
    if !schemes.contains(&scheme) {
        return Some(format!(
            "`{url}` has scheme `{scheme}`; use one of {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Some(format!("`{url}` has an unclosed `[`")),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some(format!("`{url}` has no host"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Some(format!("`{url}` has `{port}` where a port number belongs"));
        }
    }
    None
}

/// Why `filter` is not a log filter, if it is not.
fn log_filter_problem(filter: &str) -> Option<String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    if filter.trim().is_empty() {
        return Some("empty log filter; write e.g. \"info\" or \"info,witmesh=debug\"".into());
    }
    let is_level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let is_target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    };
    for directive in filter.split(',').map(str::trim) {
        let ok = match directive.split_once('=') {
            Some((target, level)) => is_target(target) && is_level(level),
            None => is_level(directive) || is_target(directive),
        };
        if !ok {
            return Some(format!(
                "`{directive}` is not a log directive; use a level ({}) or target=level",
                LEVELS.join(", ")
            ));
        }
    }
    None
}

fn node(c: &mut Checker<'_>) {
    let n = &c.cfg.node;
    if !is_name(&n.id, true) {
        c.report(
            "node.id",
            format!(
                "`{}` is not a node id: use letters, digits, `-`, `_` and `.`",
                n.id
            ),
        );
    }
    if let Some(lattice) = &n.lattice {
        if !is_name(lattice, false) {
            c.report(
                "node.lattice",
                format!("`{lattice}` is not a lattice name: use letters, digits, `-` and `_` (it becomes one NATS subject token)"),
            );
        }
    }
}

fn nats(c: &mut Checker<'_>) {
    let n = &c.cfg.nats;
    for url in n.url.split(',').map(str::trim) {
        if let Some(problem) = url_problem(url, NATS_SCHEMES) {
            c.report("nats.url", problem);
        }
    }
    if let Some(problem) = n.prefix.as_deref().and_then(subject_problem) {
        c.report("nats.prefix", problem);
    }
    if let Some(group) = &n.queue_group {
        if group.is_empty() || group.chars().any(char::is_whitespace) {
            c.report(
                "nats.queue_group",
                "a queue group is one word without spaces; omit it to subscribe without a group",
            );
        }
    }
    if n.connect_timeout.is_zero() {
        c.report(
            "nats.connect_timeout",
            "must be more than zero, e.g. \"5s\"",
        );
    }
    if let Some(creds) = &n.credentials {
        c.file(
            "nats.credentials".into(),
            creds,
            false,
            "a NATS .creds file",
        );
    }
    if let Some(tls) = &n.tls {
        match (&tls.cert, &tls.key) {
            _ if c.broken("nats.tls.cert") || c.broken("nats.tls.key") => {}
            (Some(_), None) => c.report(
                "nats.tls.cert",
                "`cert` needs `key`: give the client certificate's private key too",
            ),
            (None, Some(_)) => c.report(
                "nats.tls.key",
                "`key` needs `cert`: give the client certificate too",
            ),
            _ => {}
        }
        for (name, path) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
            if let Some(path) = path {
                c.file(format!("nats.tls.{name}"), path, false, "a PEM file");
            }
        }
    }
}

fn quic(c: &mut Checker<'_>) {
    let q = &c.cfg.quic;
    let paired = !c.broken("quic.cert") && !c.broken("quic.key");
    match (&q.cert, &q.key) {
        _ if !paired => {}
        (Some(_), None) => c.report(
            "quic.cert",
            "`cert` needs `key`: give the certificate's private key too (or neither, for a dev certificate)",
        ),
        (None, Some(_)) => c.report(
            "quic.key",
            "`key` needs `cert`: give the certificate too (or neither, for a dev certificate)",
        ),
        (None, None) if q.enabled && !q.dev_cert => c.report(
            "quic",
            "QUIC is enabled without a certificate: set `cert` and `key`, or `dev_cert = true`",
        ),
        _ => {}
    }
    if q.dev_ca_out.is_some() && q.cert.is_some() {
        c.report(
            "quic.dev_ca_out",
            "only a generated dev certificate is written out; with `cert` given, hand that file to clients instead",
        );
    }
    if let Some(path) = &q.cert {
        c.file("quic.cert".into(), path, false, "a PEM certificate chain");
    }
    if let Some(path) = &q.key {
        c.file("quic.key".into(), path, false, "a PEM private key");
    }
    if let Some(dir) = q.dev_ca_out.as_deref().and_then(Path::parent) {
        if !dir.as_os_str().is_empty() {
            c.file(
                "quic.dev_ca_out".into(),
                dir,
                true,
                "an existing directory to write into",
            );
        }
    }
    for (i, path) in q.trusted_ca.iter().enumerate() {
        c.file(
            format!("quic.trusted_ca[{i}]"),
            path,
            false,
            "a PEM CA certificate",
        );
    }
    if !is_dns_name(&q.server_name) {
        c.report(
            "quic.server_name",
            format!("`{}` is not a DNS name for a certificate", q.server_name),
        );
    }
}

fn services(c: &mut Checker<'_>) {
    let (http, admin, t) = (&c.cfg.http, &c.cfg.admin, &c.cfg.telemetry);
    if http.max_body_bytes.get() == 0 {
        c.report(
            "http.max_body_bytes",
            "must be more than zero, e.g. \"4MiB\"",
        );
    }
    if http.enabled && admin.enabled && http.listen == admin.listen && http.listen.port() != 0 {
        // Reported at the HTTP side: the gateway is opt-in, so it is the one the operator set.
        c.report(
            "http.listen",
            format!(
                "`{}` is also `admin.listen`; give the two listeners different ports",
                http.listen
            ),
        );
    }
    if !http.routes.is_empty() && !http.enabled {
        c.report(
            "http.routes",
            "routes are served on the HTTP listener: set `[http] enabled = true` (or pass --http ADDR)",
        );
    }
    for (i, r) in http.routes.iter().enumerate() {
        if !r.path_prefix.starts_with('/') {
            c.report(
                format!("http.routes[{i}].path_prefix"),
                format!("`{}` must start with `/`", r.path_prefix),
            );
        }
        match (&r.component, r.forward) {
            (Some(_), true) => c.report(
                format!("http.routes[{i}]"),
                "set either `component` (served here) or `forward = true` (served by another node), not both",
            ),
            (None, false) => c.report(
                format!("http.routes[{i}]"),
                "name the `component` that serves these requests, or set `forward = true` to send them to another node",
            ),
            (Some(name), false) if !c.cfg.components.iter().any(|comp| comp.name == *name) => {
                let names: Vec<&str> =
                    c.cfg.components.iter().map(|x| x.name.as_str()).collect();
                c.report(
                    format!("http.routes[{i}].component"),
                    format!(
                        "`{name}` is not a configured component (components: {})",
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ),
                );
            }
            _ => {}
        }
        if let Some(link) = &r.link {
            if !r.forward {
                c.report(
                    format!("http.routes[{i}].link"),
                    "a link only applies to forwarded requests: set `forward = true`",
                );
            } else if !c.cfg.mesh.links.iter().any(|l| l.name == *link) {
                c.report(
                    format!("http.routes[{i}].link"),
                    format!("`{link}` is not a `[[mesh.links]]` entry"),
                );
            }
        }
    }
    if let Some(problem) = log_filter_problem(&t.log_level) {
        c.report("telemetry.log_level", problem);
    }
    if let Some(problem) = t
        .otlp_endpoint
        .as_deref()
        .and_then(|url| {
            if url.starts_with("https://") {
                Some(format!(
                    "`{url}`: witmesh exports OTLP over plain HTTP; send it to a collector on loopback (e.g. http://127.0.0.1:4318) that forwards over TLS"
                ))
            } else {
                url_problem(url, &["http"])
            }
        })
    {
        c.report("telemetry.otlp_endpoint", problem);
    }
    if t.trace_sampling_percent > 100 {
        c.report(
            "telemetry.trace_sampling_percent",
            format!("{} is more than 100", t.trace_sampling_percent),
        );
    }
    if t.service_name.trim().is_empty() {
        c.report("telemetry.service_name", "must not be empty");
    }
}

fn limits(c: &mut Checker<'_>) {
    let l = &c.cfg.limits;
    for (key, zero) in [
        ("max_call_bytes", l.max_call_bytes.get() == 0),
        ("max_string_bytes", l.max_string_bytes.get() == 0),
        ("max_list_len", l.max_list_len == 0),
        ("max_depth", l.max_depth == 0),
    ] {
        if zero {
            c.report(
                format!("limits.{key}"),
                "must be more than zero: a zero limit refuses every call",
            );
        }
    }
    if l.max_string_bytes.get() > u64::from(u32::MAX) {
        c.report(
            "limits.max_string_bytes",
            format!(
                "{} exceeds the wire format's bound of 4GiB - 1",
                l.max_string_bytes
            ),
        );
    }
}

fn components(c: &mut Checker<'_>) {
    let mut names = HashSet::new();
    for (i, comp) in c.cfg.components.iter().enumerate() {
        let at = format!("components[{}]", DocIndex::at(&c.index.components, i));
        if !is_name(&comp.name, false) {
            c.report(
                format!("{at}.name"),
                format!(
                    "`{}` is not a component name: use letters, digits, `-` and `_`",
                    comp.name
                ),
            );
        } else if !names.insert(comp.name.as_str()) {
            c.report(
                format!("{at}.name"),
                format!(
                    "a component named `{}` is already defined; names must be unique",
                    comp.name
                ),
            );
        }
        if !comp.bundled.0 {
            c.file(
                format!("{at}.path"),
                &comp.path,
                false,
                "a compiled component",
            );
        }
        let mut exports = HashSet::new();
        for (j, export) in comp.exports.iter().enumerate() {
            if export.is_empty() || export.chars().any(char::is_whitespace) {
                c.report(format!("{at}.exports[{j}]"), format!("`{export}` is not an instance name, e.g. \"wasi:keyvalue/store@0.2.0-draft\""));
            } else if !exports.insert(export.as_str()) {
                c.report(
                    format!("{at}.exports[{j}]"),
                    format!("`{export}` is listed twice"),
                );
            }
        }
        for (j, t) in comp.transports.iter().enumerate() {
            let enabled = match t {
                Transport::Nats => c.cfg.nats.enabled,
                Transport::Quic => c.cfg.quic.enabled,
            };
            if !enabled {
                c.report(
                    format!("{at}.transports[{j}]"),
                    format!("transport `{t}` is disabled; set `[{t}] enabled = true` or drop it from the list"),
                );
            }
        }
        if comp.transports.is_empty() && !c.cfg.nats.enabled && !c.cfg.quic.enabled {
            c.report(
                format!("{at}.transports"),
                "no transport is enabled to serve this component on; enable [nats] or [quic]",
            );
        }
        if comp.max_concurrency == 0 {
            c.report(format!("{at}.max_concurrency"), "must be at least 1");
        }
        if comp.call_timeout.is_zero() {
            c.report(
                format!("{at}.call_timeout"),
                "must be more than zero, e.g. \"30s\"",
            );
        }
        if comp.memory_limit < MIN_MEMORY_LIMIT {
            c.report(
                format!("{at}.memory_limit"),
                format!(
                    "{} is less than one WebAssembly page ({MIN_MEMORY_LIMIT})",
                    comp.memory_limit
                ),
            );
        }
        let mut guests = HashSet::new();
        for (j, p) in comp.wasi.preopens.iter().enumerate() {
            c.file(
                format!("{at}.wasi.preopens[{j}].host"),
                &p.host,
                true,
                "a host directory to preopen",
            );
            if p.guest.is_empty() {
                c.report(
                    format!("{at}.wasi.preopens[{j}].guest"),
                    "must name the path the component sees, e.g. \"/data\"",
                );
            } else if !guests.insert(p.guest.as_str()) {
                c.report(
                    format!("{at}.wasi.preopens[{j}].guest"),
                    format!("`{}` is preopened twice", p.guest),
                );
            }
        }
        for (j, host) in comp.wasi.allow_http_hosts.iter().enumerate() {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            let name = match bare.rsplit_once(':') {
                Some((name, port)) if port.parse::<u16>().is_ok() => name,
                _ => bare,
            };
            if !is_dns_name(name) && name.parse::<std::net::IpAddr>().is_err() {
                c.report(
                    format!("{at}.wasi.allow_http_hosts[{j}]"),
                    format!("`{host}` is not a host name (write \"api.example.com\" or \"*.example.com\", without scheme or path)"),
                );
            }
        }
        for (name, value) in &comp.wasi.env {
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                c.report(
                    format!("{at}.wasi.env"),
                    format!("`{name}` cannot be an environment variable: names must be non-empty without `=`, and neither may hold NUL"),
                );
            }
        }
    }
}

fn peers(c: &mut Checker<'_>) {
    let mut names = HashSet::new();
    for (i, peer) in c.cfg.peers.iter().enumerate() {
        let at = format!("peers[{}]", DocIndex::at(&c.index.peers, i));
        if !is_name(&peer.name, true) {
            c.report(
                format!("{at}.name"),
                format!(
                    "`{}` is not a peer name: use letters, digits, `-`, `_` and `.`",
                    peer.name
                ),
            );
        } else if !names.insert(peer.name.as_str()) {
            c.report(
                format!("{at}.name"),
                format!(
                    "a peer named `{}` is already defined; names must be unique",
                    peer.name
                ),
            );
        }
        if peer.quic.is_none()
            && peer.nats_prefix.is_none()
            && !c.broken(&format!("{at}.quic"))
            && !c.broken(&format!("{at}.nats_prefix"))
        {
            c.report(at.clone(), "a peer needs `quic` (an address to dial) or `nats_prefix` (a subject prefix it serves under)");
        }
        if let Some(name) = &peer.server_name {
            if !is_dns_name(name) {
                c.report(
                    format!("{at}.server_name"),
                    format!("`{name}` is not a DNS name"),
                );
            }
        }
        if let Some(problem) = peer.nats_prefix.as_deref().and_then(subject_problem) {
            c.report(format!("{at}.nats_prefix"), problem);
        }
    }
}

/// Why `pattern` is not an instance pattern, if it is not.
fn instance_problem(pattern: &str) -> Option<String> {
    let head = pattern.strip_suffix('*').unwrap_or(pattern);
    if head.contains('*') {
        return Some(format!(
            "`{pattern}` may only end in `*`; a `*` elsewhere matches nothing"
        ));
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some(format!("`{pattern}` contains spaces"));
    }
    if head.len() == pattern.len() && !(head.contains(':') && head.contains('/')) {
        return Some(format!(
            "`{pattern}` is not a WIT instance name like \"wasi:keyvalue/store@0.2.0-draft\" (end it in `*` to match a prefix)"
        ));
    }
    None
}

fn routes(c: &mut Checker<'_>) {
    let mut patterns = HashSet::new();
    let known: HashSet<&str> = c.cfg.peers.iter().map(|p| p.name.as_str()).collect();
    for (i, route) in c.cfg.routes.iter().enumerate() {
        let at = format!("routes[{}]", DocIndex::at(&c.index.routes, i));
        if let Some(problem) = instance_problem(&route.instance) {
            c.report(format!("{at}.instance"), problem);
        } else if !patterns.insert(route.instance.as_str()) {
            c.report(
                format!("{at}.instance"),
                format!(
                    "another route already covers `{}`; merge their peers into one route",
                    route.instance
                ),
            );
        }
        if route.via == Transport::Nats && !c.cfg.nats.enabled {
            c.report(
                format!("{at}.via"),
                "routes via NATS need `[nats] enabled = true`",
            );
        }
        if route.via == Transport::Quic
            && route.peers.is_empty()
            && !c.broken(&format!("{at}.peers"))
        {
            c.report(
                format!("{at}.peers"),
                "routes via QUIC need at least one peer to dial",
            );
        }
        let mut seen = HashSet::new();
        for (j, name) in route.peers.iter().enumerate() {
            let key = format!("{at}.peers[{j}]");
            if !seen.insert(name.as_str()) {
                c.report(key, format!("peer `{name}` is listed twice"));
                continue;
            }
            if c.index.broken_peers.iter().any(|b| b == name) {
                continue;
            }
            let Some(pi) = c.cfg.peers.iter().position(|p| &p.name == name) else {
                let mut names: Vec<&str> = known.iter().copied().collect();
                names.sort_unstable();
                let hint = if names.is_empty() {
                    "no [[peers]] are defined".to_owned()
                } else {
                    format!("known peers: {}", names.join(", "))
                };
                c.report(key, format!("no peer named `{name}`; {hint}"));
                continue;
            };
            let peer_at = format!("peers[{}]", DocIndex::at(&c.index.peers, pi));
            if route.via == Transport::Quic
                && c.cfg.peers[pi].quic.is_none()
                && !c.broken(&format!("{peer_at}.quic"))
            {
                c.report(key, format!("peer `{name}` has no `quic` address to dial"));
            }
        }
        if route.timeout.is_zero() {
            c.report(
                format!("{at}.timeout"),
                "must be more than zero, e.g. \"30s\"",
            );
        }
        if let Some(problem) = route.nats_prefix.as_deref().and_then(subject_problem) {
            c.report(format!("{at}.nats_prefix"), problem);
        }
    }
}

fn mesh(c: &mut Checker<'_>) {
    let m = &c.cfg.mesh;
    if m.max_attempts == 0 {
        c.report(
            "mesh.max_attempts",
            "must be at least 1 (the first attempt)",
        );
    }
    if m.announce_interval.is_zero() {
        c.report(
            "mesh.announce_interval",
            "must be more than zero, e.g. \"1s\"",
        );
    }
    if m.announce_ttl.get() <= m.announce_interval.get() {
        c.report(
            "mesh.announce_ttl",
            format!(
                "must be longer than `announce_interval` ({:?}), or every peer expires between heartbeats",
                m.announce_interval.get()
            ),
        );
    }
    if m.default_timeout.is_zero() {
        c.report(
            "mesh.default_timeout",
            "must be more than zero, e.g. \"30s\"",
        );
    }
    if m.attempt_timeout.is_some_and(|t| t.is_zero()) {
        c.report(
            "mesh.attempt_timeout",
            "must be more than zero, or left out",
        );
    }
    if m.backoff_max.get() < m.backoff_base.get() {
        c.report("mesh.backoff_max", "must be at least `backoff_base`");
    }
    if m.breaker_failures == 0 {
        c.report("mesh.breaker_failures", "must be at least 1");
    }
    for (key, t) in &m.timeouts {
        let at = format!("mesh.timeouts.{key:?}");
        if !key.contains('.')
            || instance_problem(key.rsplit_once('.').map_or("", |(i, _)| i)).is_some()
        {
            c.report(
                at.clone(),
                format!("`{key}` is not `INSTANCE.FUNC`, e.g. \"local:greeter-demo/greet.greet\""),
            );
        }
        if t.is_zero() {
            c.report(at, "must be more than zero");
        }
    }
    for (i, p) in m.idempotent.iter().enumerate() {
        if !p.contains('.') || instance_problem(p.rsplit_once('.').map_or("", |(i, _)| i)).is_some()
        {
            c.report(
                format!("mesh.idempotent[{i}]"),
                format!("`{p}` is not `INSTANCE.FUNC` or `INSTANCE.*`"),
            );
        }
    }
    let mut names = HashSet::new();
    for (i, link) in m.links.iter().enumerate() {
        let at = format!("mesh.links[{i}]");
        if !is_name(&link.name, true) {
            c.report(
                format!("{at}.name"),
                format!("`{}` is not a link name", link.name),
            );
        } else if !names.insert(link.name.as_str()) {
            c.report(
                format!("{at}.name"),
                format!("a link named `{}` is already defined", link.name),
            );
        }
        for (j, iface) in link.interfaces.iter().enumerate() {
            if let Some(problem) = instance_problem(iface) {
                c.report(format!("{at}.interfaces[{j}]"), problem);
            }
        }
        match (&link.nats_prefix, &link.peer) {
            (Some(_), Some(_)) | (None, None) => c.report(
                at.clone(),
                "a link needs exactly one of `nats_prefix` or `peer`",
            ),
            (Some(prefix), None) => {
                if let Some(problem) = subject_problem(prefix) {
                    c.report(format!("{at}.nats_prefix"), problem);
                }
                if !c.cfg.nats.enabled {
                    c.report(
                        format!("{at}.nats_prefix"),
                        "links over NATS need `[nats] enabled = true`",
                    );
                }
            }
            (None, Some(peer)) => {
                if c.cfg.peer(peer).is_none() {
                    c.report(format!("{at}.peer"), format!("no peer named `{peer}`"));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(url_problem("nats://127.0.0.1:4222", NATS_SCHEMES), None);
        assert_eq!(
            url_problem("tls://user:pw@nats.example:4443", NATS_SCHEMES),
            None
        );
        assert_eq!(url_problem("wss://[::1]:443/path", NATS_SCHEMES), None);
        assert_eq!(url_problem("nats://demo.nats.io", NATS_SCHEMES), None);
        assert!(url_problem("http://x:1", NATS_SCHEMES)
            .unwrap()
            .contains("scheme `http`"));
        assert!(url_problem("127.0.0.1:4222", NATS_SCHEMES)
            .unwrap()
            .contains("no scheme"));
        assert!(url_problem("nats://:4222", NATS_SCHEMES)
            .unwrap()
            .contains("no host"));
        assert!(url_problem("nats://h:x", NATS_SCHEMES)
            .unwrap()
            .contains("port"));
    }

    #[test]
    fn subjects_and_instances() {
        assert_eq!(subject_problem("default.greeter"), None);
        assert!(subject_problem("a..b").is_some());
        assert!(subject_problem("a.*").is_some());
        assert!(subject_problem("").is_some());
        assert_eq!(instance_problem("wasi:keyvalue/store@0.2.0-draft"), None);
        assert_eq!(instance_problem("wasi:keyvalue/*"), None);
        assert_eq!(instance_problem("*"), None);
        assert!(instance_problem("wasi:*/store").is_some());
        assert!(instance_problem("store").is_some());
    }

    #[test]
    fn log_filters() {
        assert_eq!(log_filter_problem("info"), None);
        assert_eq!(
            log_filter_problem("info,witmesh=debug,wasmtime::runtime=warn"),
            None
        );
        assert_eq!(log_filter_problem("witmesh"), None);
        assert!(log_filter_problem("").is_some());
        assert!(log_filter_problem("witmesh=loud").is_some());
    }
}
