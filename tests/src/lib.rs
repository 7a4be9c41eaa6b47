//! Shared helpers for witmesh end-to-end tests: upstream `wit-bindgen-wrpc` bindings for the
//! `every-type` world and thin wrappers that run upstream's encoders and decoders on plain
//! buffers, so interop tests and benches can compare witmesh-proto against them.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bytes::BytesMut;
use tokio_util::codec::{Decoder as _, Encoder as _};
use wrpc_transport::{Decode, Deferred as _, Encode};

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
