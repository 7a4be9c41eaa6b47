//! witmesh's benches: the library the side-by-side harness (`src/bin/side-by-side.rs`) is
//! built from, and the codec bench's fixtures.
//!
//! The harness starts its servers with [`sidecar`] (the witmesh sidecars, the examples'
//! native `greeter-server`, upstream's host) and [`native`] (native `wit-bindgen-wrpc` servers
//! and the transports' raw echo servers, in process), calls them with [`client`] using the
//! payloads and names of [`payload`], drives batches of them with [`drive`] and measures with [`measure`]; [`serve`] is its
//! `--serve` mode, the serving comparison of the every-type component.
//!
//! The codec bench (`benches/codec.rs`) compares witmesh-proto with the code `wit-bindgen-wrpc`
//! generates on the same values; [`CASES`] and [`OPS`] name its Criterion groups
//! (`<case>-<op>`, each with the functions `upstream` and `witmesh`), which the `ratios` binary
//! reads back.

pub mod client;
pub mod drive;
pub mod measure;
pub mod native;
pub mod payload;
pub mod serve;
pub mod sidecar;

use bytes::Bytes;
use witmesh_proto::Value;
use witmesh_tests::every_type::witmesh::every_type::types::Point;

/// The bench cases: Criterion group prefix and the `echo` function whose parameter type they
/// use.
pub const CASES: [(&str, &str); 4] = [
    ("point", "echo-record"),
    ("string-1k", "echo-string"),
    ("bytes-64k", "echo-bytes"),
    ("points-1000", "echo-list"),
];

/// The operations benched per case.
pub const OPS: [&str; 2] = ["encode", "decode"];

/// The small record.
#[must_use]
pub fn point() -> Point {
    Point {
        x: -123_456,
        y: 7_890,
    }
}

/// A 1 KiB string, mostly ASCII with some multi-byte characters.
#[must_use]
pub fn string_1k() -> String {
    let unit = "witmesh carries WIT over wRPC, ünïcödé ✓ ";
    let mut s = unit.repeat(1024 / unit.len() + 1);
    while s.len() > 1024 {
        s.pop();
    }
    s
}

/// 64 KiB of bytes.
#[must_use]
pub fn bytes_64k() -> Bytes {
    (0..64 * 1024)
        .map(|i: u32| (i.wrapping_mul(31) >> 3) as u8)
        .collect()
}

/// 1,000 points with a spread of LEB128 lengths.
#[must_use]
pub fn points_1000() -> Vec<Point> {
    (0..1000)
        .map(|i: i32| Point {
            x: i * 4099 - 2_000_000,
            y: (i % 17) - 8,
        })
        .collect()
}

/// The witmesh value of a [`Point`].
#[must_use]
pub fn point_value(p: &Point) -> Value {
    Value::Record(vec![Value::S32(p.x), Value::S32(p.y)])
}

/// The witmesh value of a list of points.
#[must_use]
pub fn points_value(ps: &[Point]) -> Value {
    Value::List(ps.iter().map(point_value).collect())
}
