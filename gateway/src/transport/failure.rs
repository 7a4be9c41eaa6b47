//! NATS headers that carry failures and deadlines between witmesh peers.
//!
//! wRPC 0.29 has no error frame: a failed call just ends without results. Between witmesh
//! peers the class of a failure and a short message travel beside the call (see
//! [`crate::call::Class`]); over NATS they are these headers, which the caller opts into.
//! Upstream peers never send or read them.

/// NATS header carrying the caller's remaining deadline in milliseconds.
pub const HEADER_DEADLINE_MS: &str = "Witmesh-Deadline-Ms";
/// NATS header naming the subject a witmesh server publishes a failure to.
pub const HEADER_ERROR_TO: &str = "Witmesh-Error-To";
/// NATS header on a failure message: its class.
pub const HEADER_CLASS: &str = "Witmesh-Class";
/// NATS header on a failure message: the node that failed the call.
pub const HEADER_NODE: &str = "Witmesh-Node";
