//! The wRPC value codec: WIT values to and from the component-model value encoding that
//! wRPC 0.29 peers (`wrpc-transport`, `wit-bindgen-wrpc` 0.11) put on the wire.
//!
//! Encoding type-checks the value against its [`Ty`]; decoding is driven by the type, works on
//! bytes that arrive in pieces, and bounds every size, count and depth it reads from the wire.

pub mod chunks;
mod decode;
mod encode;
mod error;
mod leb;
mod limits;
mod paths;
mod read;

pub use decode::{decode_values, decode_values_shared, ValuesDecoder};
pub use encode::{encode_value, encode_values};
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind, PathSeg, ValuePath};
pub use limits::{
    Limits, DEFAULT_MAX_CALL_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LIST_LEN,
    DEFAULT_MAX_STRING_BYTES, MAX_HANDLE_BYTES,
};
pub use paths::{async_paths, values_async_paths, AsyncPath};
pub use read::{read_values, ReadError};

#[cfg(test)]
mod tests;
