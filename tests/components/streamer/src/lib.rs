//! The streamer test component: passes a `stream<u8>` to an import and takes one back, so
//! witmesh must carry a component's own streams across the network.

wit_bindgen::generate!({
    world: "streamer-component",
    path: "../../wit/streamer",
    generate_all,
});

use exports::witmesh::streamer::run::Guest;
use witmesh::bytes::bytes::{download, upload, Received};

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

struct Streamer;

impl Guest for Streamer {
    async fn send(len: u64, chunk: u32) -> Received {
        let (mut tx, rx) = wit_stream::new::<u8>();
        let write = async move {
            let chunk = u64::from(chunk.max(1));
            let mut at = 0;
            while at < len {
                let end = (at + chunk).min(len);
                let left = tx.write_all((at..end).map(pattern).collect()).await;
                if !left.is_empty() {
                    break;
                }
                at = end;
            }
        };
        let (received, ()) = futures::join!(upload(rx), write);
        received
    }

    async fn fetch(len: u64, chunk: u32) -> Received {
        let mut rx = download(len, chunk).await;
        let (mut got, mut hash) = (0u64, 0x811c_9dc5);
        loop {
            let (_, buf) = rx.read(Vec::with_capacity(64 << 10)).await;
            if buf.is_empty() {
                break;
            }
            got += buf.len() as u64;
            hash = fnv1a(hash, &buf);
        }
        Received { len: got, hash }
    }

    async fn hello(name: String) -> String {
        local::greeter_demo::greet::greet(name).await
    }
}

export!(Streamer);
