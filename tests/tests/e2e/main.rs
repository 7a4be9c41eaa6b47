//! witmesh's end-to-end tests, in one test binary (as wasmtime's `tests/all`): each module was
//! a test binary of its own, and every one linked wasmtime through the `witmesh` library, so
//! linking them dominated the build. The shared processes and clients are in the
//! `witmesh-tests` library ([`witmesh_tests::harness`]); nextest names a test
//! `MODULE::NAME`, e.g. `forward::balances_over_discovered_providers_and_fails_over_when_one_dies`,
//! and `.config/nextest.toml` puts those needing a resource of their own into test groups.

mod bench;
mod call;
mod component_streams;
mod components;
mod deploy;
mod examples;
mod forward;
mod gateway;
mod gateway_streams;
mod interop;
mod mesh_api;
mod metrics;
mod partition;
mod prometheus;
mod published_wit;
mod resources;
mod serve;
mod traces;
mod wasi_http;
