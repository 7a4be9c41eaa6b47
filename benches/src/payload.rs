//! What the harness calls and with what: the interfaces, the NATS prefixes and subjects the
//! servers are reached under, and the payload of each size.

use bytes::Bytes;

/// The greeter's interface (`greet(name)` answers `"Hello, {name}!"`).
pub const GREET: &str = "local:greeter-demo/greet";
/// The faults component's interface, which the relay imports beside the greeter.
pub const FAULTS: &str = "witmesh:faults/faults@0.1.0";
/// The subject the raw NATS floor echoes on.
pub const RAW_SUBJECT: &str = "bench.raw.echo";

/// Sidecar B's NATS prefix: it serves the greeter (and faults) components.
pub const B_PREFIX: &str = "bench.b";
/// Sidecar A's NATS prefix (the relay component, forwarding to B over NATS).
pub const A_PREFIX: &str = "bench.a";
/// The native `wit-bindgen-wrpc` server's NATS prefix.
pub const NATIVE_PREFIX: &str = "bench.native";
/// Upstream's `wrpc-wasmtime` host's NATS prefix, when it is installed.
pub const UPSTREAM_PREFIX: &str = "bench.upstream";
/// The `--serve` mode's sidecar (the every-type component) NATS prefix.
pub const WITMESH_PREFIX: &str = "bench.witmesh";

/// One call's argument at one size: the greeter's `name` and the echo's `list<u8>`.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Its size in bytes.
    pub size: usize,
    /// A `name` of `size` bytes (the raw floors echo its bytes).
    pub name: String,
    /// `size` bytes with a non-trivial pattern, for `echo-bytes`.
    pub bytes: Bytes,
}

impl Payload {
    /// The payload of `size` bytes.
    #[must_use]
    pub fn new(size: usize) -> Self {
        Payload {
            size,
            name: name(size),
            bytes: bytes(size),
        }
    }
}

/// A name of `len` bytes: `abc...z` repeated.
#[must_use]
pub fn name(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// `len` bytes with a non-trivial pattern.
#[must_use]
pub fn bytes(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(131).wrapping_add(i >> 8) & 0xff) as u8)
        .collect()
}

/// `16 B`, `1 KiB`.
#[must_use]
pub fn fmt_size(n: usize) -> String {
    if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}
