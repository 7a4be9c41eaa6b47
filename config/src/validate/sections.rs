//! The checks of each section of the config, in file order.

use std::collections::HashSet;
use std::path::Path;

use super::values::{instance_problem, is_name, log_filter_problem, subject_problem, url_problem};
use super::{Checker, DocIndex, MIN_MEMORY_LIMIT, NATS_SCHEMES};
use crate::addr::is_dns_name;
use crate::sections::Transport;

/// `[node]`: the node's id and what it announces.
pub(super) fn node(c: &mut Checker<'_>) {
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

/// `[nats]`: URLs, prefix, credentials and timeouts.
pub(super) fn nats(c: &mut Checker<'_>) {
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

/// `[quic]`: the listener, its identity and trust.
pub(super) fn quic(c: &mut Checker<'_>) {
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

/// `[http]`, `[admin]`, telemetry and logging.
pub(super) fn services(c: &mut Checker<'_>) {
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

/// `[limits]`: the codec's bounds.
pub(super) fn limits(c: &mut Checker<'_>) {
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

/// `[[components]]`: files, names, exports, policy and limits.
pub(super) fn components(c: &mut Checker<'_>) {
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

/// `[[peers]]`: addresses and names of static peers.
pub(super) fn peers(c: &mut Checker<'_>) {
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

/// `[[routes]]`: instance patterns and where they go.
pub(super) fn routes(c: &mut Checker<'_>) {
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

/// `[mesh]`: timeouts, retries, breakers and discovery.
pub(super) fn mesh(c: &mut Checker<'_>) {
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
