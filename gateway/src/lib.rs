//! witmesh: a sidecar and gateway that carries WIT interfaces across hosts over wRPC.
//!
//! The request path reads as the module list: [`listen`] (QUIC, NATS) hands each invocation to
//! [`serve`], which decodes and type-checks it with `witmesh-proto` and calls into [`host`]
//! (wasmtime), then encodes the results. [`node`] assembles these from configuration; [`cli`] is
//! the binary's edge.

pub mod cli;
pub mod host;
pub mod listen;
pub mod node;
pub mod serve;
pub mod telemetry;
