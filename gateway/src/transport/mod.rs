//! The wire: how one attempt of a call reaches a provider, and what witmesh peers carry beside
//! wRPC in both directions. One NATS connection per node (shared with the listener) and one
//! QUIC connection per peer, both long-lived; [`call::attempt`] runs the wRPC exchange over
//! either, [`bytes_stream`] one that streams a `stream<u8>`. [`tls`] configures QUIC for
//! dialling and for listening; [`failure`] (NATS headers) and [`notice`] (QUIC notices) carry
//! a failed call's class and message to a witmesh caller.

pub mod bytes_stream;
pub mod call;
pub mod failure;
pub mod nats;
pub mod notice;
pub mod quic;
pub mod tls;
