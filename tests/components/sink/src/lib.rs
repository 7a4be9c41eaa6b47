//! The sink test component: provides `witmesh:bytes` from WebAssembly, reading the stream a
//! caller's `upload` sends as it arrives.

wit_bindgen::generate!({
    world: "sink-component",
    path: "../../wit/streamer",
    generate_all,
});

use exports::witmesh::bytes::bytes::{Guest, Received};

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

    /// An empty stream: witmesh does not serve result streams yet, so no caller sees it.
    async fn download(_len: u64, _chunk: u32) -> wit_bindgen::StreamReader<u8> {
        let (tx, rx) = wit_stream::new::<u8>();
        drop(tx);
        rx
    }
}

export!(Sink);
