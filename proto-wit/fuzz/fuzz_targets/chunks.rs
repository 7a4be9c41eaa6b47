//! Fuzzes the decoder of a `stream<u8>`'s chunks: any bytes, split anywhere, must decode to
//! pieces, an end or a typed error; never a panic or an allocation driven by a length.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use witmesh_proto::codec::chunks::{ChunkDecoder, Piece};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(split).min(rest.len());
    let mut dec = ChunkDecoder::new(1 << 16);
    let mut buf = BytesMut::new();
    let mut seen = 0usize;
    for part in [&rest[..cut], &rest[cut..]] {
        buf.extend_from_slice(part);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(Piece::Data(d))) => seen += d.len(),
                Ok(Some(Piece::End)) | Ok(None) | Err(_) => break,
            }
        }
    }
    assert!(seen <= rest.len());
});
