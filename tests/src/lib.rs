//! Shared helpers for witmesh end-to-end tests: upstream `wit-bindgen-wrpc` bindings for the
//! `every-type` world and thin wrappers that run upstream's encoders and decoders on plain
//! buffers, so interop tests and benches can compare witmesh-proto against them; the test
//! components built from `tests/components/` ([`components`]) and wRPC client bindings for
//! calling them once served (the `*_client` modules).

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bytes::BytesMut;
use tokio_util::codec::{Decoder as _, Encoder as _};
use wrpc_transport::{Decode, Deferred as _, Encode};

pub mod components;
pub mod harness;

/// The writer type upstream encoders are instantiated with; no I/O happens, it only satisfies
/// the generated `Encode<W>` bounds.
pub type UpstreamOutgoing = wrpc_transport::frame::Outgoing;

/// The reader type upstream decoders are instantiated with; no I/O happens.
pub type UpstreamIncoming = wrpc_transport::frame::Incoming;

/// The wRPC instance name of the `echo` interface in `every-type.wit`.
pub const ECHO_INSTANCE: &str = "witmesh:every-type/echo@0.1.0";

/// The directory holding `every-type.wit`.
#[must_use]
pub fn every_type_wit_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wit/every-type")
}

/// Upstream `wit-bindgen-wrpc` 0.11 bindings for the `every-type` test world
/// (`tests/wit/every-type`), the reference encoder and decoder for interop tests and benches.
///
/// The value types live in [`every_type::witmesh::every_type::types`].
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod every_type {
    wit_bindgen_wrpc::generate!({
        world: "every-type",
        path: "wit/every-type",
        generate_all,
        additional_derives: [::core::cmp::PartialEq],
    });
}

/// The directory holding `tests/wit/<name>` (`greeter`, `faults`, `logger`, `policy`, ...).
#[must_use]
pub fn wit_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("wit")
        .join(name)
}

/// wRPC client bindings for a served `every-type` component (world `every-type-client`, which
/// imports `echo`): `every_type_client::witmesh::every_type::echo::echo_string(&wrpc, cx, v)`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod every_type_client {
    wit_bindgen_wrpc::generate!({
        world: "every-type-client",
        path: "wit/every-type",
        additional_derives: [::core::cmp::PartialEq],
    });
}

/// wRPC client bindings for a served greeter (world `greeter-client` of `tests/wit/greeter`):
/// `greeter_client::local::greeter_demo::greet::greet(&wrpc, cx, "world")`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod greeter_client {
    wit_bindgen_wrpc::generate!({
        world: "greeter-client",
        path: "wit/greeter",
    });
}

/// wRPC client bindings for a served faults component (world `faults-client` of
/// `tests/wit/faults`): `faults_client::witmesh::faults::faults::{ok, trap, spin, hog, sleep,
/// count}`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod faults_client {
    wit_bindgen_wrpc::generate!({
        world: "faults-client",
        path: "wit/faults",
    });
}

/// wRPC client bindings for a served relay component (world `relay-client` of
/// `tests/wit/relay`): `relay_client::witmesh::relay::relay::{greet, ok, mark, sleep, trap, ping}`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod relay_client {
    wit_bindgen_wrpc::generate!({
        world: "relay-client",
        path: "wit/relay",
    });
}

/// wRPC client bindings for a served vclient component: `vclient_client::witmesh::vclient::which::which`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod vclient_client {
    wit_bindgen_wrpc::generate!({
        world: "vclient-client",
        path: "wit/vclient",
    });
}

/// wRPC client bindings for a served logger component (world `logger-client` of
/// `tests/wit/logger`): `logger_client::witmesh::logger::logger::emit(&wrpc, cx, message)`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod logger_client {
    wit_bindgen_wrpc::generate!({
        world: "logger-client",
        path: "wit/logger",
    });
}

/// wRPC client bindings for a served policy component (world `policy-client` of
/// `tests/wit/policy`): `policy_client::witmesh::policy::policy::{read_file, write_file,
/// connect}`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod policy_client {
    wit_bindgen_wrpc::generate!({
        world: "policy-client",
        path: "wit/policy",
    });
}

/// wRPC client bindings for a served fetch component (world `fetch-client` of
/// `tests/wit/fetch`): `fetch_client::witmesh::fetch::fetch::get(&wrpc, cx, authority, path)`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod fetch_client {
    wit_bindgen_wrpc::generate!({
        world: "fetch-client",
        path: "wit/fetch",
    });
}

/// Appends upstream's encoding of `value` to `dst`, as a wRPC 0.29 peer writes it.
///
/// Fails if the encoder fails or if the value needs async (deferred) transmission, which no
/// type in `every-type` does.
pub fn upstream_encode_into<T>(value: T, dst: &mut BytesMut) -> anyhow::Result<()>
where
    T: Encode<UpstreamOutgoing>,
    <T::Encoder as tokio_util::codec::Encoder<T>>::Error: std::error::Error + Send + Sync + 'static,
{
    let mut enc = T::Encoder::default();
    enc.encode(value, dst).context("upstream encoder failed")?;
    if enc.take_deferred().is_some() {
        bail!("upstream encoder deferred part of the value");
    }
    Ok(())
}

/// Upstream's encoding of `value`, as a wRPC 0.29 peer writes it.
pub fn upstream_encode<T>(value: T) -> anyhow::Result<BytesMut>
where
    T: Encode<UpstreamOutgoing>,
    <T::Encoder as tokio_util::codec::Encoder<T>>::Error: std::error::Error + Send + Sync + 'static,
{
    let mut buf = BytesMut::new();
    upstream_encode_into(value, &mut buf)?;
    Ok(buf)
}

/// Decodes one value from the front of `src` with upstream's decoder, consuming its bytes.
///
/// Fails if the decoder fails, needs more bytes, or defers part of the value.
pub fn upstream_decode_from<T>(src: &mut BytesMut) -> anyhow::Result<T>
where
    T: Decode<UpstreamIncoming>,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    let mut dec = T::Decoder::default();
    let value = dec
        .decode(src)
        .context("upstream decoder failed")?
        .context("upstream decoder wants more bytes")?;
    if dec.take_deferred().is_some() {
        bail!("upstream decoder deferred part of the value");
    }
    Ok(value)
}

/// Decodes exactly one value from `bytes` with upstream's decoder; trailing bytes are an error.
pub fn upstream_decode<T>(bytes: &[u8]) -> anyhow::Result<T>
where
    T: Decode<UpstreamIncoming>,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    let mut src = BytesMut::from(bytes);
    let value = upstream_decode_from(&mut src)?;
    if !src.is_empty() {
        bail!("upstream decoder left {} trailing bytes", src.len());
    }
    Ok(value)
}

/// wRPC server bindings of the greeter (world `greeter` of `tests/wit/greeter`), for a native
/// provider of `local:greeter-demo/greet` written with `wit-bindgen-wrpc`, no WebAssembly.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod greeter_server {
    wit_bindgen_wrpc::generate!({
        world: "greeter",
        path: "wit/greeter",
    });
}

/// wRPC server bindings of the counters (world `counters-provider` of `tests/wit/counters`), for
/// a native provider of a resource.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod counters_server {
    wit_bindgen_wrpc::generate!({
        world: "counters-provider",
        path: "wit/counters",
    });
}

/// wRPC client bindings of the counters (world `counters-client` of `tests/wit/counters`), for
/// calling a provider of the resource directly:
/// `counters_client::witmesh::counters::counters::{Counter, make, peek, finish}`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod counters_client {
    wit_bindgen_wrpc::generate!({
        world: "counters-client",
        path: "wit/counters",
    });
}

/// wRPC client bindings for a served tally component (world `tally-client` of `tests/wit/tally`):
/// `tally_client::witmesh::tally::tally::{count, keep, add_kept}`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod tally_client {
    wit_bindgen_wrpc::generate!({
        world: "tally-client",
        path: "wit/tally",
    });
}

/// wRPC client bindings of witmesh's own `witmesh:mesh` (world `client` of `proto-wit/wit`), for
/// a native program asking a sidecar about the mesh:
/// `mesh_client::witmesh::mesh::discovery::{peers, lookup, instances}`, `...::health::check`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod mesh_client {
    wit_bindgen_wrpc::generate!({
        world: "witmesh:mesh/client",
        path: "../proto-wit/wit",
    });
}

/// wRPC server bindings of the bytes provider (world `bytes-provider` of `tests/wit/bytes`):
/// a native program taking and giving `stream<u8>`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod bytes_server {
    wit_bindgen_wrpc::generate!({
        world: "bytes-provider",
        path: "wit/bytes",
    });
}

/// wRPC server bindings of `witmesh:mesh/reflect` (world `reflector` of `proto-wit/wit`), for a
/// native provider that tells sidecars its WIT.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod reflect_server {
    wit_bindgen_wrpc::generate!({
        world: "witmesh:mesh/reflector",
        path: "../proto-wit/wit",
    });
}

pub mod native;

/// One WAVE value for each echo function of the every-type component that takes one value:
/// `(function, value)`.
pub const EVERY_TYPE_VALUES: &[(&str, &str)] = &[
    ("echo-bool", "true"),
    ("echo-s8", "-128"),
    ("echo-s16", "-32768"),
    ("echo-s32", "-2147483648"),
    ("echo-s64", "-9223372036854775808"),
    ("echo-u8", "255"),
    ("echo-u16", "65535"),
    ("echo-u32", "4294967295"),
    ("echo-u64", "18446744073709551615"),
    ("echo-f32", "1.5"),
    ("echo-f64", "-0.25"),
    ("echo-char", "'ü'"),
    ("echo-string", "\"hello, \\\"wit\\\" ✓\""),
    ("echo-bytes", "[0, 1, 255]"),
    ("echo-blob", "{name: \"b\", data: [0, 128, 255]}"),
    ("echo-list", "[{x: 1, y: 2}, {x: -3, y: 4}]"),
    ("echo-record", "{x: 7, y: -7}"),
    ("echo-tuple", "(1, \"two\", 3.5)"),
    ("echo-variant", "rect({x: 1, y: 2})"),
    ("echo-enum", "blue"),
    ("echo-option", "some(\"x\")"),
    ("echo-result", "err(\"bad\")"),
    ("echo-flags", "{read, exec}"),
    ("echo-wide-flags", "{f0, f15}"),
    (
        "echo-everything",
        "{flag: true, small: -1, medium: -2, large: -3, huge: -4, byte: 5, word: 6, dword: 7, qword: 8, single: 0.5, double: 1.25, letter: 'x', text: \"t\", raw: [1, 2], words: [\"a\", \"b\"], pair: (9, \"p\"), maybe: some({x: 1, y: 1}), outcome: ok(\"fine\"), shape: circle(2.5), color: green, perms: {write}, wide: {f3}}",
    ),
    (
        "echo-nested",
        "{label: \"root\", children: [[some({x: 1, y: 2}), none], []]}",
    ),
];
