//! witmesh: a sidecar and gateway that carries WIT interfaces across hosts over wRPC.
//!
//! The request path reads as the module list: [`listen`] (QUIC, NATS) hands each invocation to
//! [`serve`], which decodes and type-checks it with `witmesh-proto` and calls into [`host`]
//! (wasmtime), then encodes the results. A component's import that this host does not provide
//! goes to [`route`] (local component, route, link or discovery; balancing), wrapped in
//! [`resilience`] (deadline, retries, breakers), and out over [`transport`] (NATS, QUIC).
//! [`node`] assembles these from configuration; [`cli`] is the binary's edge. What a node knows
//! about itself and the mesh ([`api`]) is served as `witmesh:mesh` over wRPC and as JSON on the
//! [`admin`] listener.

pub mod admin;
pub mod api;
pub mod bench;
pub mod call;
pub mod cli;
pub mod client;
pub mod host;
pub mod http;
pub mod interfaces;
pub mod listen;
pub mod node;
pub mod resilience;
pub mod route;
pub mod serve;
pub mod telemetry;
pub mod transport;
