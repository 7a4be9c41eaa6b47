//! witmesh: a sidecar and gateway that carries WIT interfaces across hosts over wRPC.
//!
//! The modules are layers: each imports only modules below it (`docs/architecture.md` draws
//! them and follows the three request paths through them). From the top:
//!
//! - [`cli`]: the binary's edge, one file per command.
//! - [`node`]: assembles a node from one validated configuration, the one place the stack is
//!   built; [`admin`]: the HTTP admin listener and its client.
//! - [`listen`]: wRPC listeners (QUIC, NATS) that hand each invocation to [`serve`] and say how
//!   to report its failure; [`http`]: the HTTP server loop, the JSON gateway, its OpenAPI, and
//!   HTTP routes served by other nodes.
//! - [`api`]: what a node tells about itself and the mesh, served as `witmesh:mesh`;
//!   [`client`]: one call from the edge with a typed failure; [`bench`]: `witmesh bench`'s
//!   load generator.
//! - [`route`]: where a component's imports go (resolution order, balancing, discovery, the one
//!   retry driver); [`serve`]: one invocation, decoded and type-checked, called, encoded.
//! - [`host`]: wasmtime, WASI under policy, limits; [`transport`]: one attempt over NATS or QUIC,
//!   TLS, failure reports on the wire; [`interfaces`]: the well-known interfaces witmesh
//!   speaks itself (`wrpc:http`); [`resilience`]: breaker, EWMA, retry policy and budget.
//! - [`telemetry`]: logs, metrics with typed labels, traces.
//! - [`call`]: the call's vocabulary (targets, failure classes, errors, byte streams, the
//!   deadline race) and the two seams through which `host` and `route` meet.

// The edge.
pub mod cli;

// Assembly.
pub mod admin;
pub mod node;

// Inbound: wRPC and HTTP listeners.
pub mod http;
pub mod listen;

// What callers at the edge use.
pub mod api;
pub mod bench;
pub mod client;

// A call's way: routing out, serving in.
pub mod route;
pub mod serve;

// Below the call's way: the runtime, the wire, the policies.
pub mod host;
pub mod interfaces;
pub mod resilience;
pub mod transport;

// Everything observes.
pub mod telemetry;

// The vocabulary every layer shares.
pub mod call;
