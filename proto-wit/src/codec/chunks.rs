//! The bytes of a pending `stream<u8>`, as they travel on the value's own path after the
//! call's other values: chunks, each an unsigned LEB128 count and that many bytes, ended by an
//! empty chunk. Decoding is incremental and hands bytes on as they arrive, so a chunk is never
//! held whole; its announced size is bounded all the same.

use bytes::{Buf as _, Bytes, BytesMut};

use super::leb::put_uleb;

/// Appends one chunk of `data` (nothing for empty data, which would end the stream).
pub fn put_chunk(dst: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    put_uleb(dst, data.len() as u64);
    dst.extend_from_slice(data);
}

/// Appends the end of the stream.
pub fn put_end(dst: &mut BytesMut) {
    dst.extend_from_slice(&[0]);
}

/// Why a stream's chunks are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A count that does not fit in 32 bits, as wRPC writes them.
    #[error("a stream chunk's length is not a valid 32-bit LEB128 number")]
    BadLength,
    /// A chunk larger than the bound.
    #[error("a stream chunk of {len} bytes is over the {max}-byte limit")]
    TooLong {
        /// The announced length.
        len: u64,
        /// The bound.
        max: u64,
    },
}

/// What the decoder has found.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Stream bytes (part or all of a chunk).
    Data(Bytes),
    /// The stream ended.
    End,
}

/// Decodes a stream's chunks from bytes as they arrive.
#[derive(Debug)]
pub struct ChunkDecoder {
    max_chunk: u64,
    /// Bytes left of the chunk being read.
    left: u64,
    ended: bool,
}

impl ChunkDecoder {
    /// A decoder refusing chunks over `max_chunk` bytes.
    #[must_use]
    pub fn new(max_chunk: u64) -> Self {
        ChunkDecoder {
            max_chunk,
            left: 0,
            ended: false,
        }
    }

    /// The next piece from `src` (consuming what it uses), or `None` when more bytes are
    /// needed. After [`Piece::End`] it finds nothing more.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Piece>, ChunkError> {
        if self.ended {
            return Ok(None);
        }
        if self.left == 0 {
            let Some((len, used)) = read_uleb32(src)? else {
                return Ok(None);
            };
            src.advance(used);
            if len == 0 {
                self.ended = true;
                return Ok(Some(Piece::End));
            }
            if len > self.max_chunk {
                return Err(ChunkError::TooLong {
                    len,
                    max: self.max_chunk,
                });
            }
            self.left = len;
        }
        if src.is_empty() {
            return Ok(None);
        }
        let take = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(src.len());
        self.left -= take as u64;
        Ok(Some(Piece::Data(src.split_to(take).freeze())))
    }

    /// Whether the stream ended cleanly.
    #[must_use]
    pub fn ended(&self) -> bool {
        self.ended
    }
}

/// A 32-bit unsigned LEB128 number at the start of `src` and its length in bytes.
fn read_uleb32(src: &[u8]) -> Result<Option<(u64, usize)>, ChunkError> {
    let mut v = 0u64;
    for (i, b) in src.iter().enumerate().take(5) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return if v > u64::from(u32::MAX) {
                Err(ChunkError::BadLength)
            } else {
                Ok(Some((v, i + 1)))
            };
        }
    }
    if src.len() >= 5 {
        Err(ChunkError::BadLength)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn drain(dec: &mut ChunkDecoder, buf: &mut BytesMut, out: &mut Vec<u8>) -> bool {
        while let Some(p) = dec.decode(buf).unwrap() {
            match p {
                Piece::Data(d) => out.extend_from_slice(&d),
                Piece::End => return true,
            }
        }
        false
    }

    proptest! {
        #[test]
        fn chunks_round_trip_however_they_are_split(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in proptest::collection::vec(1usize..64, 1..16),
        ) {
            let mut wire = BytesMut::new();
            for c in &chunks {
                put_chunk(&mut wire, c);
            }
            put_end(&mut wire);
            let wire = wire.freeze();
            let mut dec = ChunkDecoder::new(1 << 20);
            let (mut buf, mut out, mut at, mut ended) = (BytesMut::new(), Vec::new(), 0, false);
            for cut in cuts.iter().cycle() {
                if at >= wire.len() {
                    break;
                }
                let end = (at + cut).min(wire.len());
                buf.extend_from_slice(&wire[at..end]);
                at = end;
                ended |= drain(&mut dec, &mut buf, &mut out);
            }
            prop_assert!(ended && dec.ended());
            prop_assert_eq!(out, chunks.concat());
        }
    }

    #[test]
    fn oversized_and_malformed_lengths_are_refused() {
        let mut big = BytesMut::new();
        put_uleb(&mut big, 2000);
        assert_eq!(
            ChunkDecoder::new(1000).decode(&mut big),
            Err(ChunkError::TooLong {
                len: 2000,
                max: 1000
            })
        );
        let mut bad = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..]);
        assert_eq!(
            ChunkDecoder::new(1000).decode(&mut bad),
            Err(ChunkError::BadLength)
        );
        let mut partial = BytesMut::from(&[0x80][..]);
        assert_eq!(ChunkDecoder::new(1000).decode(&mut partial), Ok(None));
    }
}
