//! Outbound transports: how one attempt of a forwarded call reaches a provider. One NATS
//! connection per node (shared with the listener) and one QUIC connection per peer, both
//! long-lived; [`call::attempt`] runs the wRPC exchange over either.

pub mod bytes_stream;
pub mod call;
pub mod failure;
pub mod nats;
pub mod notice;
pub mod quic;

use std::fmt;

use failure::Class;
use witmesh_config::HostPort;

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

/// A provider's own report of why it failed a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFailure {
    /// The failure class.
    pub class: Class,
    /// The node that failed it.
    pub node: String,
    /// What happened, in the node's words.
    pub message: String,
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on node {}: {}", self.class, self.node, self.message)
    }
}

/// Why one attempt failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AttemptError {
    /// The call never reached a provider (no connection, nothing subscribed).
    #[error("not delivered: {reason}")]
    NotSent {
        /// What went wrong.
        reason: String,
    },
    /// The connection broke or the results ended early while the call was in flight.
    #[error("lost in flight: {reason}")]
    Lost {
        /// What went wrong.
        reason: String,
        /// Whether some results had arrived.
        results_started: bool,
    },
    /// The provider reported a failure.
    #[error("{0}")]
    Remote(RemoteFailure),
    /// The results did not match the function's WIT types.
    #[error("the provider's results do not match the WIT: {reason}")]
    BadResults {
        /// The decoder's explanation.
        reason: String,
    },
    /// The parameters could not be encoded (a value that does not match the WIT).
    #[error("the parameters do not match the WIT: {reason}")]
    BadParams {
        /// The encoder's explanation.
        reason: String,
    },
    /// The attempt ran out of time.
    #[error("no answer within {after:?}")]
    Deadline {
        /// How long it ran.
        after: std::time::Duration,
    },
}
