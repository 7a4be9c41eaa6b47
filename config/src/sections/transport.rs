//! Sections about reaching and being reached: `[nats]`, `[quic]`, `[[peers]]` and
//! `[[routes]]`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::addr::HostPort;
use crate::units::HumanDuration;

/// A wRPC transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// wRPC over NATS subjects: brokered, with queue groups for load balancing.
    Nats,
    /// wRPC over QUIC streams: direct, peer to peer.
    Quic,
}

impl Transport {
    /// Both transports, in the order they are listed by default.
    pub const ALL: [Transport; 2] = [Transport::Nats, Transport::Quic];

    /// The name used in config files: `"nats"` or `"quic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Nats => "nats",
            Transport::Quic => "quic",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default NATS server URL.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222"; // a local leaf node or dev server, NATS's own default port
/// Default time to wait for the NATS connection at startup.
pub const DEFAULT_NATS_CONNECT_TIMEOUT: HumanDuration = HumanDuration::from_secs(5); // fail fast so orchestrators restart us

/// `[nats]`: the NATS connection wRPC calls travel over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// Whether to connect to NATS; off by default so a bare node needs no broker.
    pub enabled: bool,
    /// Server URL (`nats://`, `tls://`, `ws://` or `wss://`); several may be given separated by
    /// commas, and the client fails over between them.
    pub url: String,
    /// Subject prefix served components are exported under, e.g. `"default.greeter"`; `None`
    /// serves at the bare instance names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Queue group for served subscriptions, so replicas share calls instead of each getting
    /// every one; `None` subscribes without a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_group: Option<String>,
    /// Path to a NATS `.creds` file (JWT and NKey seed) to authenticate with; relative paths
    /// are resolved against the config file's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// TLS settings beyond the URL scheme: a private CA and/or a client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<NatsTlsConfig>,
    /// How long to wait for the first connection before giving up.
    pub connect_timeout: HumanDuration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            enabled: false,
            url: DEFAULT_NATS_URL.to_owned(),
            prefix: None,
            queue_group: None,
            credentials: None,
            tls: None,
            connect_timeout: DEFAULT_NATS_CONNECT_TIMEOUT,
        }
    }
}

/// `[nats.tls]`: PEM files for TLS to the NATS server; paths relative to the config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsTlsConfig {
    /// CA certificate(s) to verify the server with, instead of the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Client certificate chain, for servers that require mutual TLS; needs `key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// Private key of `cert`; needs `cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

/// Default QUIC listen address.
pub const DEFAULT_QUIC_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4433)); // loopback unless the operator opts in
/// Default TLS server name for QUIC.
pub const DEFAULT_QUIC_SERVER_NAME: &str = "localhost"; // what a generated dev certificate is issued for
/// Default for generating a development certificate.
pub const DEFAULT_DEV_CERT: bool = true; // a fresh checkout works without a PKI; production sets cert and key

/// `[quic]`: the QUIC endpoint served components are reachable on, and how this node trusts
/// the peers it dials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuicConfig {
    /// Whether to serve components over QUIC. Routes `via = "quic"` dial out whether or not
    /// this is on.
    pub enabled: bool,
    /// UDP address to listen on (`ip:port`; port 0 picks a free port).
    #[serde(with = "crate::addr::listen_addr")]
    pub listen: SocketAddr,
    /// PEM certificate chain to serve; needs `key`. Relative to the config file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`; needs `cert`. Relative to the config file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Whether to generate a self-signed development certificate for `server_name` when no
    /// `cert`/`key` is given.
    pub dev_cert: bool,
    /// Where to write the generated development certificate (PEM), so clients can trust it;
    /// only meaningful with a development certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_ca_out: Option<PathBuf>,
    /// PEM CA certificates (or peers' `dev_ca_out` files) trusted when dialling peers over
    /// QUIC; a peer whose certificate chains to none of them is refused.
    pub trusted_ca: Vec<PathBuf>,
    /// Name this node's certificate is issued for and that peers verify; also the default name
    /// this node expects of peers addressed by IP.
    pub server_name: String,
}

impl Default for QuicConfig {
    fn default() -> Self {
        QuicConfig {
            enabled: true,
            listen: DEFAULT_QUIC_LISTEN,
            cert: None,
            key: None,
            dev_cert: DEFAULT_DEV_CERT,
            dev_ca_out: None,
            trusted_ca: Vec::new(),
            server_name: DEFAULT_QUIC_SERVER_NAME.to_owned(),
        }
    }
}

/// `[[peers]]`: a remote witmesh node (or other wRPC server) that routes can send calls to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Name routes refer to this peer by; unique among peers.
    pub name: String,
    /// `host:port` to dial over QUIC; the host may be a DNS name, resolved when dialling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quic: Option<HostPort>,
    /// TLS name to verify the peer's certificate against; defaults to the host of `quic` when
    /// that is a DNS name, else to `[quic].server_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// NATS subject prefix the peer serves under, for routes `via = "nats"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_prefix: Option<String>,
}

impl PeerConfig {
    /// The TLS name to expect of this peer over QUIC, given this node's `[quic]` section.
    pub fn tls_server_name<'a>(&'a self, quic: &'a QuicConfig) -> &'a str {
        self.server_name
            .as_deref()
            .or_else(|| self.quic.as_ref().and_then(HostPort::dns_name))
            .unwrap_or(&quic.server_name)
    }
}

/// Default time a routed call may take.
pub const DEFAULT_ROUTE_TIMEOUT: HumanDuration = HumanDuration::from_secs(30); // matches the default component call timeout
/// Default number of retries of a routed call.
pub const DEFAULT_ROUTE_RETRIES: u32 = 0; // calls are not known to be idempotent, so retrying is opt-in

fn default_route_timeout() -> HumanDuration {
    DEFAULT_ROUTE_TIMEOUT
}

fn default_route_retries() -> u32 {
    DEFAULT_ROUTE_RETRIES
}

/// `[[routes]]`: where calls to an instance this node does not serve are sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// WIT instance name, e.g. `"wasi:keyvalue/store@0.2.0-draft"`; without a version it matches
    /// every version of the interface (`"wasi:keyvalue/store"`); a trailing `*` matches any
    /// instance starting with what precedes it (`"wasi:keyvalue/*"`, or `"*"` for everything).
    pub instance: String,
    /// Transport the calls go over.
    pub via: Transport,
    /// Peers (by name) to send calls to, tried in order on failure; required for QUIC, and for
    /// NATS supplies the subject prefix unless `nats_prefix` is set.
    #[serde(default)]
    pub peers: Vec<String>,
    /// How long one attempt may take before it is abandoned.
    #[serde(default = "default_route_timeout")]
    pub timeout: HumanDuration,
    /// How many times a failed attempt is retried (on the next peer, if any).
    #[serde(default = "default_route_retries")]
    pub retries: u32,
    /// NATS subject prefix to call under, overriding the peers' `nats_prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_prefix: Option<String>,
}

impl RouteConfig {
    /// The route among `routes` for calls to `instance`: an exact match, else one naming the
    /// interface without a version, else the wildcard route with the longest prefix that
    /// matches.
    pub fn best<'a>(routes: &'a [RouteConfig], instance: &str) -> Option<&'a RouteConfig> {
        routes
            .iter()
            .filter(|r| r.matches(instance))
            .max_by_key(|r| match r.instance.strip_suffix('*') {
                Some(prefix) => prefix.len(),
                None if r.instance.contains('@') => usize::MAX,
                None => usize::MAX - 1,
            })
    }

    /// Whether this route's `instance` pattern covers `instance`.
    pub fn matches(&self, instance: &str) -> bool {
        match self.instance.strip_suffix('*') {
            Some(prefix) => instance.starts_with(prefix),
            None if self.instance.contains('@') => self.instance == instance,
            None => instance
                .strip_prefix(self.instance.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('@')),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn route(instance: &str) -> RouteConfig {
        RouteConfig {
            instance: instance.into(),
            via: Transport::Quic,
            peers: vec![],
            timeout: DEFAULT_ROUTE_TIMEOUT,
            retries: 0,
            nats_prefix: None,
        }
    }

    #[test]
    fn route_patterns() {
        assert!(route("wasi:keyvalue/store@0.2.0").matches("wasi:keyvalue/store@0.2.0"));
        assert!(!route("wasi:keyvalue/store@0.2.0").matches("wasi:keyvalue/store@0.2.1"));
        assert!(route("wasi:keyvalue/*").matches("wasi:keyvalue/atomics@0.2.0"));
        assert!(!route("wasi:keyvalue/*").matches("wasi:http/handler"));
        assert!(route("*").matches("anything:at/all"));
        assert!(route("wasi:keyvalue/store").matches("wasi:keyvalue/store@0.2.0"));
        assert!(route("wasi:keyvalue/store").matches("wasi:keyvalue/store"));
        assert!(!route("wasi:keyvalue/store").matches("wasi:keyvalue/storex@0.2.0"));
    }

    #[test]
    fn peer_server_name_fallbacks() {
        let quic = QuicConfig::default();
        let mut peer = PeerConfig {
            name: "b".into(),
            quic: Some("10.0.0.2:4433".parse().unwrap()),
            server_name: None,
            nats_prefix: None,
        };
        assert_eq!(peer.tls_server_name(&quic), "localhost");
        peer.quic = Some("peer-b.svc:4433".parse().unwrap());
        assert_eq!(peer.tls_server_name(&quic), "peer-b.svc");
        peer.server_name = Some("b.example".into());
        assert_eq!(peer.tls_server_name(&quic), "b.example");
    }
}
