//! The sink test component: provides `witmesh:bytes` from WebAssembly, reading the stream a
//! caller's `upload` sends as it arrives and writing `download`'s stream after it returns.

wit_bindgen::generate!({
    world: "sink-component",
    path: "../../wit/streamer",
    generate_all,
});

use exports::witmesh::bytes::bytes::{Guest, Received};

/// `download`'s `chunk` that asks for a stream cut midway: the component writes half of it,
/// then traps.
const CUT: u32 = u32::MAX;

/// The byte at offset `i` of the pattern (the same as the native provider's).
fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 11) as u8
}

/// FNV-1a (32 bits) over `data`, continuing from `h`.
fn fnv1a(mut h: u32, data: &[u8]) -> u32 {
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

struct Sink;

impl Guest for Sink {
    async fn upload(mut data: wit_bindgen::StreamReader<u8>) -> Received {
        let (mut len, mut hash) = (0u64, 0x811c_9dc5);
        loop {
            let (_, buf) = data.read(Vec::with_capacity(64 << 10)).await;
            if buf.is_empty() {
                break;
            }
            len += buf.len() as u64;
            hash = fnv1a(hash, &buf);
        }
        Received { len, hash }
    }

    /// `len` bytes of the pattern in writes of `chunk` bytes, written after the call has
    /// returned the stream; with `chunk` = [`CUT`], half of them and then a trap.
    async fn download(len: u64, chunk: u32) -> wit_bindgen::StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new::<u8>();
        wit_bindgen::spawn_local(async move {
            let cut = chunk == CUT;
            let step = if cut { 64 << 10 } else { u64::from(chunk.max(1)) };
            let mut at = 0;
            while at < len {
                if cut && at >= len / 2 {
                    panic!("the sink cuts its download at byte {at} of {len}");
                }
                let end = (at + step).min(len);
                let left = tx.write_all((at..end).map(pattern).collect()).await;
                if !left.is_empty() {
                    break;
                }
                at = end;
            }
        });
        rx
    }
}

export!(Sink);
