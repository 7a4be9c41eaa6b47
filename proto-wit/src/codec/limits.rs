//! Bounds on what a peer may make the decoder hold.

/// Default bound on all the bytes of one call's parameters or results: large payloads belong in
/// `stream<u8>`, which is not held whole.
pub const DEFAULT_MAX_CALL_BYTES: usize = 64 << 20;
/// Default bound on one `string` or `list<u8>`: no single inline value should dominate a call.
pub const DEFAULT_MAX_STRING_BYTES: u32 = 16 << 20;
/// Default bound on the element count of one list: beyond a million elements a stream is
/// the right type, and the count bounds per-element allocation.
pub const DEFAULT_MAX_LIST_LEN: u32 = 1 << 20;
/// Default bound on nesting: deep enough for any hand-written WIT type, shallow enough that
/// hostile nesting cannot exhaust the stack.
pub const DEFAULT_MAX_DEPTH: u32 = 64;
/// Bound on a resource handle's bytes: handles are small ids (wasmtime uses 16 bytes).
pub const MAX_HANDLE_BYTES: u32 = 1024;

/// Limits the decoder enforces on values read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes the encoded parameters (or results) of one call may take.
    pub max_call_bytes: usize,
    /// Most bytes of one `string` or `list<u8>`.
    pub max_string_bytes: u32,
    /// Most elements of one list (other than `list<u8>`) or stream chunk.
    pub max_list_len: u32,
    /// Deepest nesting of lists, records, tuples, variants, options, results, futures and
    /// streams.
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_call_bytes: DEFAULT_MAX_CALL_BYTES,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_list_len: DEFAULT_MAX_LIST_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
