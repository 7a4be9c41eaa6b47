//! Shared helpers for witmesh end-to-end tests.

/// Upstream `wit-bindgen-wrpc` 0.11 bindings for the `every-type` test world
/// (`tests/wit/every-type`), used as the reference encoder and decoder in interop tests and
/// benches.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod every_type {
    wit_bindgen_wrpc::generate!({
        world: "every-type",
        path: "wit/every-type",
        generate_all,
        additional_derives: [::core::cmp::PartialEq],
    });
}
