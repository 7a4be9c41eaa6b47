//! The bytes-relay test component: exports `witmesh:bytes-relay/relay@0.1.0`, whose functions
//! call the every-type echo interface it imports, which witmesh forwards.

wit_bindgen::generate!({
    world: "bytes-relay-component",
    path: "../../wit/bytes-relay",
    generate_all,
});

use exports::witmesh::bytes_relay::relay::{Blob, Guest};
use witmesh::every_type::echo;

struct BytesRelay;

impl Guest for BytesRelay {
    fn relay_bytes(v: Vec<u8>) -> Vec<u8> {
        echo::echo_bytes(&v)
    }

    fn relay_blob(v: Blob) -> Blob {
        echo::echo_blob(&v)
    }
}

export!(BytesRelay);
