//! Outbound transports: how one attempt of a forwarded call reaches a provider. One NATS
//! connection per node (shared with the listener) and one QUIC connection per peer, both
//! long-lived; [`call::attempt`] runs the wRPC exchange over either.

pub mod bytes_stream;
pub mod call;
pub mod failure;
pub mod nats;
pub mod notice;
pub mod quic;
pub mod tls;
