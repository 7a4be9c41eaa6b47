//! Reading a call's values from an async byte stream (a QUIC stream, a NATS message sequence).

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::decode::ValuesDecoder;
use super::error::DecodeError;
use crate::value::Value;

/// Why values could not be read from a stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes were not a valid encoding of the expected values.
    #[error("invalid values: {0}")]
    Decode(#[from] DecodeError),
    /// The stream ended before the values were complete.
    #[error("stream ended early: {0}")]
    Truncated(DecodeError),
    /// Reading the stream failed.
    #[error("reading values failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads bytes from `r` into `buf` until `dec` has decoded every value.
///
/// Bytes read past the last value stay in `buf` for the caller.
pub async fn read_values<R: AsyncRead + Unpin>(
    r: &mut R,
    dec: &mut ValuesDecoder,
    buf: &mut BytesMut,
) -> Result<Vec<Value>, ReadError> {
    loop {
        if let Some(values) = dec.decode(buf)? {
            return Ok(values);
        }
        buf.reserve(8 << 10);
        if r.read_buf(buf).await? == 0 {
            return Err(ReadError::Truncated(dec.truncated()));
        }
    }
}
