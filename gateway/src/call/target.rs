//! Where a call goes: a provider's wire [`Address`], or a component of this node, and the
//! [`Issuer`] that sends calls passing a resource back to the provider that issued it.

use std::fmt;

use witmesh_config::HostPort;

use super::local::LocalExport;

/// Where one attempt is sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// wRPC over NATS under a subject prefix (empty for none).
    Nats {
        /// The provider's subject prefix.
        prefix: String,
    },
    /// wRPC over QUIC to a peer.
    Quic {
        /// The peer's `host:port`.
        addr: HostPort,
        /// The TLS name its certificate must carry.
        server_name: String,
    },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Nats { prefix } if prefix.is_empty() => f.write_str("nats:"),
            Address::Nats { prefix } => write!(f, "nats:{prefix}"),
            Address::Quic { addr, .. } => write!(f, "quic://{addr}"),
        }
    }
}

/// One place a call can go.
#[derive(Clone)]
pub enum Target {
    /// A component of this node, called in-process.
    Local(LocalExport),
    /// A provider elsewhere, called over wRPC.
    Remote(Address),
}

/// A provider of one instance.
#[derive(Clone)]
pub struct Provider {
    /// The node serving it (or the route's name for it).
    pub node: String,
    /// The provider's own instance name (its version may differ from the import's).
    pub instance: String,
    /// Where calls to it go.
    pub target: Target,
    /// Where it was found: `local`, `route`, `link:NAME` or `discovery`.
    pub source: String,
}

impl Provider {
    /// The provider's key (its address, or `local:COMPONENT`), for balancing, logs and errors.
    pub fn key(&self) -> String {
        match &self.target {
            Target::Local(l) => format!("local:{}", l.component.name()),
            Target::Remote(a) => format!("{a}"),
        }
    }
}

/// The provider that answered a call: resource handles it returned live there, so calls that
/// pass them go back to it and nowhere else.
#[derive(Clone)]
pub struct Issuer(pub Provider);

impl Issuer {
    /// The provider's key, for logs and errors.
    pub fn key(&self) -> String {
        self.0.key()
    }
}
