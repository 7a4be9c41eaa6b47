//! Paths of the test components, built from `tests/components/` for `wasm32-wasip2` by this
//! crate's build script (the nested build lives in `<target>/components`).
//!
//! Each is a WASI 0.2 component; its WIT is in `tests/wit/<name>/`, and the matching wRPC client
//! bindings are in this crate's `*_client` modules.

use std::path::Path;

/// The greeter: exports `local:greeter-demo/greet`, where `greet("world")` is
/// `"Hello, world!"`. `gateway/assets/greeter.wasm` is a prebuilt copy.
#[must_use]
pub fn greeter() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_GREETER"))
}

/// The every-type echo component: exports `witmesh:every-type/echo@0.1.0`, each function
/// returning its input, and `witmesh:every-type/types@0.1.0` with the `counter` resource
/// (world `every-type-component`).
#[must_use]
pub fn every_type() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_EVERY_TYPE"))
}

/// The faults component: exports `witmesh:faults/faults@0.1.0` with `ok` (`n + 1`), `trap`,
/// `spin` (never returns), `hog` (allocates MiBs), `sleep` (on wasi:clocks) and `count` (a
/// per-instance counter, 1 on a fresh instance).
#[must_use]
pub fn faults() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_FAULTS"))
}

/// The logger component: imports `wasi:logging/logging@0.1.0-draft` and exports
/// `witmesh:logger/logger@0.1.0`, whose `emit` logs the message at info and warn (context
/// `logger-test`), prints it to stdout and stderr, and returns 2.
#[must_use]
pub fn logger() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_LOGGER"))
}

/// The policy component: exports `witmesh:policy/policy@0.1.0` with `read-file`, `write-file`
/// and `connect`, done through std (wasi:filesystem, wasi:sockets); errors are the guest's
/// `std::io::Error` messages.
#[must_use]
pub fn policy() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_POLICY"))
}

/// Every test component as `(name, path)`, the name being its directory in `tests/components/`.
#[must_use]
pub fn all() -> [(&'static str, &'static Path); 6] {
    [
        ("greeter", greeter()),
        ("every-type", every_type()),
        ("faults", faults()),
        ("logger", logger()),
        ("policy", policy()),
        ("fetch", fetch()),
    ]
}

/// The fetch component: exports `witmesh:fetch/fetch@0.1.0` whose `get(authority, path)` sends
/// `GET http://authority/path` through `wasi:http/outgoing-handler` and returns the status.
#[must_use]
pub fn fetch() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_FETCH"))
}

/// The relay component: exports `witmesh:relay/relay@0.1.0`, each function calling the
/// matching import (`local:greeter-demo/greet`, `witmesh:faults/faults@0.1.0`), which witmesh
/// forwards.
#[must_use]
pub fn relay() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_RELAY"))
}

/// The bytes-relay component: exports `witmesh:bytes-relay/relay@0.1.0`, whose `relay-bytes`
/// and `relay-blob` call `echo-bytes` and `echo-blob` of the every-type echo interface it
/// imports, which witmesh forwards.
#[must_use]
pub fn bytes_relay() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_BYTES_RELAY"))
}

/// The http03 component: a `wasi:http/handler@0.3.0` service built against the published
/// WASI 0.3.0 WIT, answering 200 with the request body streamed back and `x-echo-method`.
#[must_use]
pub fn http03() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_HTTP03"))
}

/// The vclient component: imports `witmesh:versioned/api@1.2.0` and exports
/// `witmesh:vclient/which@0.1.0.which`, which returns what the import returned.
#[must_use]
pub fn vclient() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_VCLIENT"))
}

/// The http-hello component: exports `wasi:http/incoming-handler`, answering with headers
/// `x-method` and `x-path`, a greeting line and the request body streamed back (status from an
/// `x-status` header, else 200).
#[must_use]
pub fn http_hello() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_HTTP_HELLO"))
}

/// The tally component: imports `witmesh:counters/counters@0.1.0` (a `counter` resource kept
/// by the provider) and exports `witmesh:tally/tally@0.1.0` (`count`, `keep`, `add-kept`).
#[must_use]
pub fn tally() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_TALLY"))
}

/// The counters component: exports `witmesh:counters/counters@0.1.0`, keeping the `counter`
/// resources itself (`home` answers `component`).
#[must_use]
pub fn counters() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_COUNTERS"))
}

/// The streamer component, built for the async ABI: imports `witmesh:bytes/bytes@0.1.0` as
/// `async` functions and exports `witmesh:streamer/run@0.1.0`, whose `send(len, chunk)` writes
/// `len` bytes of [`crate::native::pattern`] into `upload` and `fetch(len, chunk)` reads a
/// `download`, each returning the `received` account (length and FNV-1a).
#[must_use]
pub fn streamer() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_STREAMER"))
}

/// The sink component, built for the async ABI: exports `witmesh:bytes/bytes@0.1.0`, whose
/// async `upload` reads the caller's stream and returns its length and FNV-1a (`download`
/// answers with a stream, which witmesh does not serve).
#[must_use]
pub fn sink() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_SINK"))
}

/// The WASI 0.3 component: imports `wasi:random/random@0.3.0` and
/// `wasi:clocks/monotonic-clock@0.3.0` (its `wait-for` is async) and exports
/// `witmesh:wasi03/probe@0.1.0` with `random-len(max-len)` and `nap(ns)`.
#[must_use]
pub fn wasi03() -> &'static Path {
    Path::new(env!("TEST_COMPONENT_WASI03"))
}
