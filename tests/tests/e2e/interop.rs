//! Byte-exact interop between witmesh-proto's dynamic codec and the code `wit-bindgen-wrpc` 0.11
//! generates (on `wrpc-transport` 0.29) for `wit/every-type`.
//!
//! Every case runs both directions:
//! (a) upstream encodes a Rust value; witmesh decodes those bytes against the function's WIT
//!     parameter types, the result must equal a hand-built `Value`, and witmesh's re-encoding must
//!     be the same bytes;
//! (b) witmesh encodes the hand-built `Value`, the bytes must be upstream's bytes, and upstream's
//!     decoder must give back the Rust value.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use witmesh_proto::codec::{
    decode_values, encode_value, encode_values, Limits, ValuesDecoder, MAX_HANDLE_BYTES,
};
use witmesh_proto::{Func, Ty, Value, WitSet};
use witmesh_tests::every_type::witmesh::every_type::types::{
    Color, Counter, Everything, Permissions, Point, Shape, TreeNode, WideFlags,
};
use witmesh_tests::{
    every_type_wit_dir, upstream_decode, upstream_encode, UpstreamIncoming, UpstreamOutgoing,
    ECHO_INSTANCE,
};
use wrpc_transport::{Decode, Encode, ResourceBorrow, ResourceOwn};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn wit() -> &'static WitSet {
    static SET: OnceLock<WitSet> = OnceLock::new();
    SET.get_or_init(|| WitSet::load(every_type_wit_dir()).expect("load every-type WIT"))
}

fn func(name: &str) -> Func {
    wit()
        .func(ECHO_INSTANCE, name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn hex(b: &[u8]) -> String {
    const MAX: usize = 96;
    let mut s: String = b
        .iter()
        .take(MAX)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    if b.len() > MAX {
        s.push_str(&format!(" … ({} bytes)", b.len()));
    }
    s
}

/// Asserts two encodings are identical, reporting the first difference in hex.
#[track_caller]
fn assert_same_bytes(what: &str, produced: &[u8], expected: &[u8]) {
    if produced == expected {
        return;
    }
    let at = produced
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(produced.len().min(expected.len()));
    let lo = at.saturating_sub(8);
    panic!(
        "{what}: bytes differ at offset {at} (lengths: produced {}, expected {})\n  \
         expected (upstream) [{lo}..]: {}\n  produced (witmesh)  [{lo}..]: {}",
        produced.len(),
        expected.len(),
        hex(&expected[lo.min(expected.len())..]),
        hex(&produced[lo.min(produced.len())..]),
    );
}

/// Value equality that tells floats apart by bits (NaN payloads, -0.0).
fn same_value(a: &Value, b: &Value) -> bool {
    fn all(a: &[Value], b: &[Value]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
    }
    fn opt(a: Option<&Value>, b: Option<&Value>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => same_value(a, b),
            _ => false,
        }
    }
    match (a, b) {
        (Value::F32(a), Value::F32(b)) => a.to_bits() == b.to_bits(),
        (Value::F64(a), Value::F64(b)) => a.to_bits() == b.to_bits(),
        (Value::List(a), Value::List(b))
        | (Value::Record(a), Value::Record(b))
        | (Value::Tuple(a), Value::Tuple(b)) => all(a, b),
        (Value::Variant(da, a), Value::Variant(db, b)) => {
            da == db && opt(a.as_deref(), b.as_deref())
        }
        (Value::Option(a), Value::Option(b)) => opt(a.as_deref(), b.as_deref()),
        (Value::Result(Ok(a)), Value::Result(Ok(b)))
        | (Value::Result(Err(a)), Value::Result(Err(b))) => opt(a.as_deref(), b.as_deref()),
        _ => a == b,
    }
}

#[track_caller]
fn assert_same_values(what: &str, got: &[Value], expected: &[Value]) {
    assert!(
        got.len() == expected.len() && got.iter().zip(expected).all(|(a, b)| same_value(a, b)),
        "{what}: decoded values differ\n  expected: {expected:?}\n  got:      {got:?}"
    );
}

/// Feeds `bytes` to the incremental decoder `chunk` bytes at a time.
#[track_caller]
fn decode_in_pieces(tys: &[Ty], labels: &[String], bytes: &[u8], chunk: usize) -> Vec<Value> {
    let mut dec = ValuesDecoder::new(Arc::from(tys), Arc::from(labels), Limits::default());
    let mut buf = BytesMut::new();
    let mut pieces = bytes.chunks(chunk);
    loop {
        if let Some(values) = dec.decode(&mut buf).expect("incremental decode") {
            assert!(
                buf.is_empty() && pieces.next().is_none(),
                "values ended early"
            );
            return values;
        }
        let piece = pieces
            .next()
            .expect("incremental decoder wants bytes past the end");
        buf.extend_from_slice(piece);
    }
}

/// Runs directions (a) and (b) for one call's worth of values.
///
/// `rust` is what upstream encodes (a tuple of all parameters for multi-parameter functions, a
/// single value otherwise — both encode identically); `values` are the same values built by
/// hand for witmesh; `tys`/`labels` come from the WIT function; `eq` compares Rust values.
#[track_caller]
fn check_tys<T>(
    what: &str,
    tys: &[Ty],
    labels: &[String],
    rust: T,
    values: Vec<Value>,
    eq: impl Fn(&T, &T) -> bool,
) where
    T: Clone + Debug + Encode<UpstreamOutgoing> + Decode<UpstreamIncoming>,
    <T::Encoder as tokio_util::codec::Encoder<T>>::Error: std::error::Error + Send + Sync + 'static,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    // (a) upstream -> witmesh -> witmesh
    let upstream =
        upstream_encode(rust.clone()).unwrap_or_else(|e| panic!("{what}: upstream encode: {e:#}"));
    let decoded = decode_values(tys, labels, &upstream, &Limits::default()).unwrap_or_else(|e| {
        panic!(
            "{what}: witmesh cannot decode upstream bytes [{}]: {e}",
            hex(&upstream)
        )
    });
    assert_same_values(what, &decoded, &values);
    if upstream.len() <= 2048 {
        for chunk in [1, 13] {
            let got = decode_in_pieces(tys, labels, &upstream, chunk);
            assert_same_values(&format!("{what} (a) in {chunk}-byte pieces"), &got, &values);
        }
    }
    let mut reencoded = BytesMut::new();
    encode_values(tys, labels, &decoded, &mut reencoded)
        .unwrap_or_else(|e| panic!("{what}: witmesh re-encode: {e}"));
    assert_same_bytes(&format!("{what} (a) re-encode"), &reencoded, &upstream);

    // (b) witmesh -> upstream
    let mut ours = BytesMut::new();
    encode_values(tys, labels, &values, &mut ours)
        .unwrap_or_else(|e| panic!("{what}: witmesh encode: {e}"));
    assert_same_bytes(&format!("{what} (b) encode"), &ours, &upstream);
    let back: T = upstream_decode(&ours).unwrap_or_else(|e| {
        panic!(
            "{what}: upstream cannot decode witmesh bytes [{}]: {e:#}",
            hex(&ours)
        )
    });
    assert!(
        eq(&back, &rust),
        "{what}: upstream decoded witmesh bytes to a different value\n  expected: {rust:?}\n  got:      {back:?}"
    );
}

/// [`check_tys`] against the parameters of `echo-<name>`.
#[track_caller]
fn check_eq<T>(name: &str, rust: T, values: Vec<Value>, eq: impl Fn(&T, &T) -> bool)
where
    T: Clone + Debug + Encode<UpstreamOutgoing> + Decode<UpstreamIncoming>,
    <T::Encoder as tokio_util::codec::Encoder<T>>::Error: std::error::Error + Send + Sync + 'static,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    let f = func(name);
    let what = format!("{name}({rust:?})");
    check_tys(&what, &f.params, &f.param_labels, rust, values, eq);
}

/// [`check_eq`] for one parameter compared with `PartialEq`.
#[track_caller]
fn check<T>(name: &str, rust: T, value: Value)
where
    T: Clone + Debug + PartialEq + Encode<UpstreamOutgoing> + Decode<UpstreamIncoming>,
    <T::Encoder as tokio_util::codec::Encoder<T>>::Error: std::error::Error + Send + Sync + 'static,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    check_eq(name, rust, vec![value], |a, b| a == b);
}

// ---------------------------------------------------------------------------------------------
// Hand-built models of the generated types
// ---------------------------------------------------------------------------------------------

fn s(x: &str) -> Value {
    Value::String(x.to_owned())
}

fn some(v: Value) -> Value {
    Value::Option(Some(Box::new(v)))
}

fn point_value(p: &Point) -> Value {
    Value::Record(vec![Value::S32(p.x), Value::S32(p.y)])
}

fn shape_value(sh: &Shape) -> Value {
    match sh {
        Shape::Circle(r) => Value::Variant(0, Some(Box::new(Value::F64(*r)))),
        Shape::Rect(p) => Value::Variant(1, Some(Box::new(point_value(p)))),
        Shape::Empty => Value::Variant(2, None),
    }
}

fn color_value(c: &Color) -> Value {
    Value::Enum(match c {
        Color::Red => 0,
        Color::Green => 1,
        Color::Blue => 2,
    })
}

/// Flag indexes from raw bits, ascending.
fn flag_indexes(bits: u64) -> Vec<u32> {
    (0..64).filter(|i| bits & (1 << i) != 0).collect()
}

fn perms_value(p: &Permissions) -> Value {
    Value::Flags(flag_indexes(p.bits().into()))
}

fn wide_value(w: &WideFlags) -> Value {
    Value::Flags(flag_indexes(w.bits().into()))
}

fn everything_value(e: &Everything) -> Value {
    Value::Record(vec![
        Value::Bool(e.flag),
        Value::S8(e.small),
        Value::S16(e.medium),
        Value::S32(e.large),
        Value::S64(e.huge),
        Value::U8(e.byte),
        Value::U16(e.word),
        Value::U32(e.dword),
        Value::U64(e.qword),
        Value::F32(e.single),
        Value::F64(e.double),
        Value::Char(e.letter),
        Value::String(e.text.clone()),
        Value::Bytes(e.raw.clone()),
        Value::List(e.words.iter().map(|w| s(w)).collect()),
        Value::Tuple(vec![Value::U32(e.pair.0), s(&e.pair.1)]),
        Value::Option(e.maybe.as_ref().map(|p| Box::new(point_value(p)))),
        Value::Result(match &e.outcome {
            Ok(t) => Ok(Some(Box::new(s(t)))),
            Err(n) => Err(Some(Box::new(Value::U32(*n)))),
        }),
        shape_value(&e.shape),
        color_value(&e.color),
        perms_value(&e.perms),
        wide_value(&e.wide),
    ])
}

fn tree_value(t: &TreeNode) -> Value {
    Value::Record(vec![
        s(&t.label),
        Value::List(
            t.children
                .iter()
                .map(|row| {
                    Value::List(
                        row.iter()
                            .map(|p| Value::Option(p.as_ref().map(|p| Box::new(point_value(p)))))
                            .collect(),
                    )
                })
                .collect(),
        ),
    ])
}

/// Rust-side equality through the models, so floats compare by bits.
fn shape_eq(a: &Shape, b: &Shape) -> bool {
    same_value(&shape_value(a), &shape_value(b))
}

fn everything_eq(a: &Everything, b: &Everything) -> bool {
    same_value(&everything_value(a), &everything_value(b))
}

fn f32_eq(a: &f32, b: &f32) -> bool {
    a.to_bits() == b.to_bits()
}

fn f64_eq(a: &f64, b: &f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn sample_everything() -> Everything {
    Everything {
        flag: true,
        small: -128,
        medium: -300,
        large: i32::MIN,
        huge: i64::MAX,
        byte: 255,
        word: 40_000,
        dword: 1 << 31,
        qword: u64::MAX,
        single: -0.0,
        double: f64::MIN_POSITIVE,
        letter: '🦀',
        text: "héllo, wörld".to_owned(),
        raw: Bytes::from_static(&[0, 1, 2, 0xff]),
        words: vec![String::new(), "two".to_owned(), "三".to_owned()],
        pair: (u32::MAX, "pair".to_owned()),
        maybe: Some(Point { x: -1, y: 64 }),
        outcome: Err(7),
        shape: Shape::Rect(Point { x: 3, y: -4 }),
        color: Color::Blue,
        perms: Permissions::READ | Permissions::EXEC,
        wide: WideFlags::F0 | WideFlags::F8 | WideFlags::F15,
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

#[test]
fn bool_values() {
    check("echo-bool", false, Value::Bool(false));
    check("echo-bool", true, Value::Bool(true));
}

#[test]
fn s8_values() {
    for v in [0, 1, -1, 63, 64, -64, -65, i8::MAX, i8::MIN] {
        check("echo-s8", v, Value::S8(v));
    }
}

#[test]
fn s16_values() {
    for v in [
        0,
        1,
        -1,
        63,
        64,
        -64,
        -65,
        127,
        128,
        8191,
        8192,
        -8192,
        -8193,
        i16::MAX,
        i16::MIN,
    ] {
        check("echo-s16", v, Value::S16(v));
    }
}

#[test]
fn s32_values() {
    for v in [
        0,
        1,
        -1,
        63,
        64,
        -64,
        -65,
        8192,
        -8193,
        1 << 20,
        -(1 << 20) - 1,
        (1 << 27) - 1,
        1 << 27,
        -(1 << 27),
        -(1 << 27) - 1,
        i32::MAX,
        i32::MIN,
    ] {
        check("echo-s32", v, Value::S32(v));
    }
}

#[test]
fn s64_values() {
    for v in [
        0,
        1,
        -1,
        63,
        64,
        -64,
        -65,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        1 << 55,
        -(1 << 55),
        (1 << 62) - 1,
        1 << 62,
        -(1 << 62),
        -(1 << 62) - 1,
        i64::MAX,
        i64::MIN,
    ] {
        check("echo-s64", v, Value::S64(v));
    }
}

#[test]
fn u8_values() {
    for v in [0, 1, 127, 128, u8::MAX] {
        check("echo-u8", v, Value::U8(v));
    }
}

#[test]
fn u16_values() {
    for v in [0, 1, 127, 128, 16_383, 16_384, u16::MAX] {
        check("echo-u16", v, Value::U16(v));
    }
}

#[test]
fn u32_values() {
    for v in [
        0,
        1,
        127,
        128,
        16_383,
        16_384,
        (1 << 28) - 1,
        1 << 28,
        u32::MAX,
    ] {
        check("echo-u32", v, Value::U32(v));
    }
}

#[test]
fn u64_values() {
    for v in [
        0,
        1,
        127,
        128,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX,
    ] {
        check("echo-u64", v, Value::U64(v));
    }
}

/// Canonical NaN (the only NaN a wRPC 0.29 encoder emits), infinities, zeros, subnormals.
#[test]
fn f32_values() {
    for bits in [
        0x0000_0000u32, // 0.0
        0x8000_0000,    // -0.0
        0x3fc0_0000,    // 1.5
        0x0000_0001,    // smallest subnormal
        0x8000_0001,    // negative subnormal
        0x0080_0000,    // MIN_POSITIVE
        0x7f7f_ffff,    // MAX
        0xff7f_ffff,    // MIN
        0x7f80_0000,    // inf
        0xff80_0000,    // -inf
        0x7fc0_0000,    // canonical NaN
    ] {
        let v = f32::from_bits(bits);
        check_eq("echo-f32", v, vec![Value::F32(v)], f32_eq);
    }
}

#[test]
fn f64_values() {
    for bits in [
        0x0000_0000_0000_0000u64,
        0x8000_0000_0000_0000,
        0x3ff8_0000_0000_0000,
        0x0000_0000_0000_0001,
        0x8000_0000_0000_0001,
        0x0010_0000_0000_0000,
        0x7fef_ffff_ffff_ffff,
        0xffef_ffff_ffff_ffff,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
    ] {
        let v = f64::from_bits(bits);
        check_eq("echo-f64", v, vec![Value::F64(v)], f64_eq);
    }
}

/// Upstream canonicalizes every NaN on encode (`CANONICAL_NAN_F32 = 0x7fc0_0000`,
/// `CANONICAL_NAN_F64 = 0x7ff8_0000_0000_0000` in wrpc-transport 0.29 `value.rs`), so the NaN
/// bytes on the wire are always canonical. (a): upstream bytes of any NaN decode to the
/// canonical NaN and re-encode identically.
#[test]
fn nan_payloads_from_upstream_arrive_canonical() {
    for bits in [0x7fc0_0001u32, 0xffc0_0000, 0x7f80_0001, 0xffff_ffff] {
        let up = upstream_encode(f32::from_bits(bits)).unwrap();
        assert_eq!(
            &up[..],
            &0x7fc0_0000u32.to_le_bytes(),
            "upstream f32 {bits:#x}"
        );
        let f = func("echo-f32");
        let got = decode_values(&f.params, &f.param_labels, &up, &Limits::default()).unwrap();
        assert_same_values("f32 NaN", &got, &[Value::F32(f32::from_bits(0x7fc0_0000))]);
    }
    for bits in [
        0x7ff8_0000_0000_0001u64,
        0xfff8_0000_0000_0000,
        0x7ff0_0000_0000_0001,
    ] {
        let up = upstream_encode(f64::from_bits(bits)).unwrap();
        assert_eq!(
            &up[..],
            &0x7ff8_0000_0000_0000u64.to_le_bytes(),
            "upstream f64 {bits:#x}"
        );
        let f = func("echo-f64");
        let got = decode_values(&f.params, &f.param_labels, &up, &Limits::default()).unwrap();
        assert_same_values(
            "f64 NaN",
            &got,
            &[Value::F64(f64::from_bits(0x7ff8_0000_0000_0000))],
        );
    }
}

/// (b) for non-canonical NaNs: upstream's decoder is lenient and keeps any NaN's bits, but the
/// bytes witmesh puts on the wire must be what a wRPC 0.29 peer would put there for the same
/// value, i.e. the canonical NaN.
#[test]
fn nan_payloads_encode_canonically_like_upstream() {
    let mut failures = Vec::new();
    for bits in [0x7fc0_0001u32, 0xffc0_0000, 0x7f80_0001, 0xffff_ffff] {
        let v = f32::from_bits(bits);
        let upstream = upstream_encode(v).unwrap();
        let mut ours = BytesMut::new();
        encode_value(&Ty::F32, &Value::F32(v), &mut ours).unwrap();
        if ours != upstream {
            failures.push(format!(
                "f32 NaN {bits:#010x}: upstream [{}], witmesh [{}]",
                hex(&upstream),
                hex(&ours)
            ));
        }
    }
    for bits in [
        0x7ff8_0000_0000_0001u64,
        0xfff8_0000_0000_0000,
        0x7ff0_0000_0000_0001,
    ] {
        let v = f64::from_bits(bits);
        let upstream = upstream_encode(v).unwrap();
        let mut ours = BytesMut::new();
        encode_value(&Ty::F64, &Value::F64(v), &mut ours).unwrap();
        if ours != upstream {
            failures.push(format!(
                "f64 NaN {bits:#018x}: upstream [{}], witmesh [{}]",
                hex(&upstream),
                hex(&ours)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "witmesh does not canonicalize NaN on encode:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
fn char_values() {
    for c in [
        '\0',
        'a',
        '\u{7f}',
        '\u{80}',
        'é',
        '\u{7ff}',
        '\u{800}',
        '€',
        '\u{d7ff}',
        '\u{e000}',
        '\u{fffd}',
        '\u{ffff}',
        '\u{10000}',
        '🦀',
        char::MAX,
    ] {
        check("echo-char", c, Value::Char(c));
    }
}

#[test]
fn string_values() {
    let long_ascii = "x".repeat(200);
    let long_multibyte = "ж🦀".repeat(3000);
    for text in [
        "",
        "a",
        "hello",
        "nul\0inside",
        "héllo wörld",
        "日本語",
        "🦀🦀",
        long_ascii.as_str(),
        long_multibyte.as_str(),
    ] {
        check("echo-string", text.to_owned(), s(text));
    }
}

// ---------------------------------------------------------------------------------------------
// Lists, records, tuples, variants, enums, options, results, flags
// ---------------------------------------------------------------------------------------------

#[test]
fn bytes_values() {
    let big: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    for raw in [
        Vec::new(),
        vec![0],
        vec![0xff; 127],
        vec![0xab; 128],
        (0..=255).collect(),
        big,
    ] {
        let raw = Bytes::from(raw);
        check("echo-bytes", raw.clone(), Value::Bytes(raw));
    }
}

#[test]
fn list_of_records() {
    let many: Vec<Point> = (0..200)
        .map(|i| Point {
            x: i * 1000 - 70_000,
            y: -i,
        })
        .collect();
    for points in [
        vec![],
        vec![Point { x: 0, y: 0 }],
        vec![
            Point { x: 1, y: -1 },
            Point {
                x: i32::MAX,
                y: i32::MIN,
            },
            Point { x: 64, y: -65 },
        ],
        many,
    ] {
        let value = Value::List(points.iter().map(point_value).collect());
        check("echo-list", points, value);
    }
}

#[test]
fn record_values() {
    for p in [
        Point { x: 0, y: 0 },
        Point { x: -1, y: 64 },
        Point {
            x: i32::MIN,
            y: i32::MAX,
        },
    ] {
        check(
            "echo-record",
            p,
            Value::Record(vec![Value::S32(p.x), Value::S32(p.y)]),
        );
    }
}

#[test]
fn tuple_values() {
    let cases: [(u8, &str, u64); 4] = [
        (0, "", 0),
        (255, "🦀", 0xc4a8_b3c0_0000_0000), // about -5.8e22
        (7, "seven", 0x8000_0000_0000_0000),
        (128, &"y".repeat(300), 0x7ff0_0000_0000_0000),
    ];
    for (a, b, c) in cases {
        let c = f64::from_bits(c);
        check_eq(
            "echo-tuple",
            (a, b.to_owned(), c),
            vec![Value::Tuple(vec![Value::U8(a), s(b), Value::F64(c)])],
            |x, y| x.0 == y.0 && x.1 == y.1 && f64_eq(&x.2, &y.2),
        );
    }
}

#[test]
fn variant_each_case() {
    for (sh, value) in [
        (
            Shape::Circle(1.0),
            Value::Variant(0, Some(Box::new(Value::F64(1.0)))),
        ),
        (
            Shape::Circle(-0.0),
            Value::Variant(0, Some(Box::new(Value::F64(-0.0)))),
        ),
        (
            Shape::Circle(f64::INFINITY),
            Value::Variant(0, Some(Box::new(Value::F64(f64::INFINITY)))),
        ),
        (
            Shape::Rect(Point { x: 3, y: -4 }),
            Value::Variant(
                1,
                Some(Box::new(Value::Record(vec![Value::S32(3), Value::S32(-4)]))),
            ),
        ),
        (Shape::Empty, Value::Variant(2, None)),
    ] {
        check_eq("echo-variant", sh, vec![value], shape_eq);
    }
}

#[test]
fn enum_each_case() {
    check("echo-enum", Color::Red, Value::Enum(0));
    check("echo-enum", Color::Green, Value::Enum(1));
    check("echo-enum", Color::Blue, Value::Enum(2));
}

#[test]
fn option_values() {
    check("echo-option", None::<String>, Value::Option(None));
    check("echo-option", Some(String::new()), some(s("")));
    check("echo-option", Some("🦀 x".to_owned()), some(s("🦀 x")));
}

#[test]
fn result_values() {
    check(
        "echo-result",
        Ok::<Point, String>(Point { x: 5, y: -6 }),
        Value::Result(Ok(Some(Box::new(Value::Record(vec![
            Value::S32(5),
            Value::S32(-6),
        ]))))),
    );
    check(
        "echo-result",
        Err::<Point, String>(String::new()),
        Value::Result(Err(Some(Box::new(s(""))))),
    );
    check(
        "echo-result",
        Err::<Point, String>("boom".to_owned()),
        Value::Result(Err(Some(Box::new(s("boom"))))),
    );
}

#[test]
fn flags_permissions() {
    let cases = [
        (Permissions::empty(), vec![]),
        (Permissions::READ, vec![0]),
        (Permissions::WRITE, vec![1]),
        (Permissions::EXEC, vec![2]),
        (Permissions::READ | Permissions::EXEC, vec![0, 2]),
        (Permissions::all(), vec![0, 1, 2]),
    ];
    for (p, set) in cases {
        check("echo-flags", p, Value::Flags(set));
    }
}

#[test]
fn flags_wide() {
    let cases = [
        (WideFlags::empty(), vec![]),
        (WideFlags::F0, vec![0]),
        (WideFlags::F7, vec![7]),
        (WideFlags::F8, vec![8]),
        (WideFlags::F15, vec![15]),
        (
            WideFlags::F0 | WideFlags::F8 | WideFlags::F15,
            vec![0, 8, 15],
        ),
        (WideFlags::from_bits_retain(0x5555), flag_indexes(0x5555)),
        (WideFlags::from_bits_retain(0xaaaa), flag_indexes(0xaaaa)),
        (WideFlags::all(), (0..16).collect()),
    ];
    for (w, set) in cases {
        check("echo-wide-flags", w, Value::Flags(set));
    }
}

/// Flags are bit sets, lowest flag in the lowest bit of the first byte.
#[test]
fn flags_wire_layout() {
    let up = upstream_encode(WideFlags::F0 | WideFlags::F9).unwrap();
    assert_eq!(&up[..], &[0x01, 0x02]);
    let up = upstream_encode(Permissions::WRITE | Permissions::EXEC).unwrap();
    assert_eq!(&up[..], &[0x06]);
}

#[test]
fn everything_sample() {
    let e = sample_everything();
    let value = everything_value(&e);
    // The model is spelled out by hand once here, independent of `everything_value`.
    let by_hand = Value::Record(vec![
        Value::Bool(true),
        Value::S8(-128),
        Value::S16(-300),
        Value::S32(i32::MIN),
        Value::S64(i64::MAX),
        Value::U8(255),
        Value::U16(40_000),
        Value::U32(1 << 31),
        Value::U64(u64::MAX),
        Value::F32(-0.0),
        Value::F64(f64::MIN_POSITIVE),
        Value::Char('🦀'),
        s("héllo, wörld"),
        Value::Bytes(Bytes::from_static(&[0, 1, 2, 0xff])),
        Value::List(vec![s(""), s("two"), s("三")]),
        Value::Tuple(vec![Value::U32(u32::MAX), s("pair")]),
        some(Value::Record(vec![Value::S32(-1), Value::S32(64)])),
        Value::Result(Err(Some(Box::new(Value::U32(7))))),
        Value::Variant(
            1,
            Some(Box::new(Value::Record(vec![Value::S32(3), Value::S32(-4)]))),
        ),
        Value::Enum(2),
        Value::Flags(vec![0, 2]),
        Value::Flags(vec![0, 8, 15]),
    ]);
    assert!(same_value(&value, &by_hand), "everything model");
    check_eq("echo-everything", e, vec![by_hand], everything_eq);

    let mut other = sample_everything();
    other.flag = false;
    other.single = f32::from_bits(0x7fc0_0000);
    other.double = f64::NEG_INFINITY;
    other.letter = '\0';
    other.text = String::new();
    other.raw = Bytes::new();
    other.words = vec![];
    other.maybe = None;
    other.outcome = Ok("fine".to_owned());
    other.shape = Shape::Empty;
    other.color = Color::Red;
    other.perms = Permissions::empty();
    other.wide = WideFlags::all();
    let value = everything_value(&other);
    check_eq("echo-everything", other, vec![value], everything_eq);
}

#[test]
fn nested_tree_node() {
    let p = |x, y| Point { x, y };
    for t in [
        TreeNode {
            label: String::new(),
            children: vec![],
        },
        TreeNode {
            label: "root".to_owned(),
            children: vec![
                vec![],
                vec![None, Some(p(1, 2))],
                vec![Some(p(-64, 64)), None, None],
            ],
        },
    ] {
        let value = tree_value(&t);
        check("echo-nested", t, value);
    }
    // The model for the second shape, by hand.
    let t = TreeNode {
        label: "r".to_owned(),
        children: vec![vec![None, Some(p(1, -1))]],
    };
    check(
        "echo-nested",
        t,
        Value::Record(vec![
            s("r"),
            Value::List(vec![Value::List(vec![
                Value::Option(None),
                some(Value::Record(vec![Value::S32(1), Value::S32(-1)])),
            ])]),
        ]),
    );
}

// ---------------------------------------------------------------------------------------------
// Resources, multiple parameters, no parameters, results
// ---------------------------------------------------------------------------------------------

#[test]
fn own_handles() {
    for repr in [
        Vec::new(),
        vec![0x2a],
        (0..16).collect(),
        (0..=255).cycle().take(300).collect::<Vec<u8>>(),
        vec![0x5a; MAX_HANDLE_BYTES as usize],
    ] {
        let h = ResourceOwn::<Counter>::new(repr.clone());
        check("echo-own", h, Value::Handle(Bytes::from(repr)));
    }
}

/// Deliberate divergence: witmesh bounds handles at `MAX_HANDLE_BYTES` (1024) on decode,
/// upstream does not bound them.
#[test]
fn handles_beyond_witmesh_limit() {
    let repr = vec![1u8; MAX_HANDLE_BYTES as usize + 1];
    let up = upstream_encode(ResourceOwn::<Counter>::new(repr.clone())).unwrap();
    let back: ResourceOwn<Counter> = upstream_decode(&up).unwrap();
    assert_eq!(back, ResourceOwn::new(repr));
    let f = func("echo-own");
    assert!(decode_values(&f.params, &f.param_labels, &up, &Limits::default()).is_err());
}

#[test]
fn borrow_handles() {
    for repr in [Vec::new(), vec![0xff], (100..116).collect(), vec![7u8; 200]] {
        let h = ResourceBorrow::<Counter>::new(repr.clone());
        check("echo-borrow", h, Value::Handle(Bytes::from(repr)));
    }
}

/// Upstream invokes with the parameters as one tuple; on the wire that is each parameter's
/// encoding, concatenated.
#[test]
fn many_params() {
    let cases: Vec<(u32, String, Bytes, Option<bool>)> = vec![
        (0, String::new(), Bytes::new(), None),
        (
            u32::MAX,
            "🦀".to_owned(),
            Bytes::from(vec![9; 300]),
            Some(false),
        ),
        (128, "b".to_owned(), Bytes::from_static(b"c"), Some(true)),
    ];
    for (a, b, c, d) in cases {
        let values = vec![
            Value::U32(a),
            s(&b),
            Value::Bytes(c.clone()),
            Value::Option(d.map(|d| Box::new(Value::Bool(d)))),
        ];
        // The concatenation, spelled out with single-value upstream encodes.
        let mut concat = BytesMut::new();
        concat.extend_from_slice(&upstream_encode(a).unwrap());
        concat.extend_from_slice(&upstream_encode(b.clone()).unwrap());
        concat.extend_from_slice(&upstream_encode(c.clone()).unwrap());
        concat.extend_from_slice(&upstream_encode(d).unwrap());
        assert_same_bytes(
            "tuple vs concatenation",
            &upstream_encode((a, b.clone(), c.clone(), d)).unwrap(),
            &concat,
        );
        check_eq(
            "echo-many",
            (a, b.clone(), c.clone(), d),
            values.clone(),
            |x, y| x == y,
        );

        // The result is one `tuple<...>` value with the same bytes.
        let f = func("echo-many");
        check_tys(
            "echo-many result",
            &f.results,
            &f.result_labels,
            (a, b, c, d),
            vec![Value::Tuple(values)],
            |x, y| x == y,
        );
    }
}

#[test]
fn unit_params() {
    let f = func("echo-unit");
    assert!(f.params.is_empty());
    assert!(upstream_encode(()).unwrap().is_empty());
    let got = decode_values(&f.params, &f.param_labels, &[], &Limits::default()).unwrap();
    assert!(got.is_empty());
    let mut out = BytesMut::new();
    encode_values(&f.params, &f.param_labels, &[], &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn borrow_result_u64() {
    let f = func("echo-borrow");
    for v in [0u64, 300, u64::MAX] {
        check_tys(
            "echo-borrow result",
            &f.results,
            &f.result_labels,
            v,
            vec![Value::U64(v)],
            |x, y| x == y,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/// Floats from arbitrary bits, with NaNs canonical: upstream encodes every NaN canonically, and
/// the non-canonical case has its own test (`nan_payloads_encode_canonically_like_upstream`).
fn arb_f32() -> impl Strategy<Value = f32> {
    any::<u32>().prop_map(|b| {
        let f = f32::from_bits(b);
        if f.is_nan() {
            f32::from_bits(0x7fc0_0000)
        } else {
            f
        }
    })
}

fn arb_f64() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(|b| {
        let f = f64::from_bits(b);
        if f.is_nan() {
            f64::from_bits(0x7ff8_0000_0000_0000)
        } else {
            f
        }
    })
}

fn arb_point() -> impl Strategy<Value = Point> {
    (any::<i32>(), any::<i32>()).prop_map(|(x, y)| Point { x, y })
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        arb_f64().prop_map(Shape::Circle),
        arb_point().prop_map(Shape::Rect),
        Just(Shape::Empty),
    ]
}

fn arb_color() -> impl Strategy<Value = Color> {
    prop_oneof![Just(Color::Red), Just(Color::Green), Just(Color::Blue)]
}

fn arb_everything() -> impl Strategy<Value = Everything> {
    let scalars = (
        any::<bool>(),
        any::<i8>(),
        any::<i16>(),
        any::<i32>(),
        any::<i64>(),
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u64>(),
        arb_f32(),
        arb_f64(),
        any::<char>(),
    );
    let rest = (
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<String>(), 0..5),
        (any::<u32>(), any::<String>()),
        proptest::option::of(arb_point()),
        prop_oneof![any::<String>().prop_map(Ok), any::<u32>().prop_map(Err)],
        arb_shape(),
        arb_color(),
        any::<u8>().prop_map(Permissions::from_bits_truncate),
        any::<u16>().prop_map(WideFlags::from_bits_truncate),
    );
    (scalars, rest).prop_map(
        |(
            (flag, small, medium, large, huge, byte, word, dword, qword, single, double, letter),
            (text, raw, words, pair, maybe, outcome, shape, color, perms, wide),
        )| Everything {
            flag,
            small,
            medium,
            large,
            huge,
            byte,
            word,
            dword,
            qword,
            single,
            double,
            letter,
            text,
            raw: Bytes::from(raw),
            words,
            pair,
            maybe,
            outcome,
            shape,
            color,
            perms,
            wide,
        },
    )
}

fn arb_tree() -> impl Strategy<Value = TreeNode> {
    (
        any::<String>(),
        proptest::collection::vec(
            proptest::collection::vec(proptest::option::of(arb_point()), 0..6),
            0..6,
        ),
    )
        .prop_map(|(label, children)| TreeNode { label, children })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_everything(e in arb_everything()) {
        let value = everything_value(&e);
        check_eq("echo-everything", e, vec![value], everything_eq);
    }

    #[test]
    fn prop_tree_node(t in arb_tree()) {
        let value = tree_value(&t);
        check("echo-nested", t, value);
    }

    #[test]
    fn prop_many(a in any::<u32>(), b in any::<String>(),
                 c in proptest::collection::vec(any::<u8>(), 0..200),
                 d in proptest::option::of(any::<bool>())) {
        let c = Bytes::from(c);
        let values = vec![
            Value::U32(a),
            Value::String(b.clone()),
            Value::Bytes(c.clone()),
            Value::Option(d.map(|d| Box::new(Value::Bool(d)))),
        ];
        check_eq("echo-many", (a, b, c, d), values, |x, y| x == y);
    }

    #[test]
    fn prop_integers(a in any::<i8>(), b in any::<i16>(), c in any::<i32>(), d in any::<i64>(),
                     e in any::<u16>(), f in any::<u32>(), g in any::<u64>()) {
        check("echo-s8", a, Value::S8(a));
        check("echo-s16", b, Value::S16(b));
        check("echo-s32", c, Value::S32(c));
        check("echo-s64", d, Value::S64(d));
        check("echo-u16", e, Value::U16(e));
        check("echo-u32", f, Value::U32(f));
        check("echo-u64", g, Value::U64(g));
    }

    #[test]
    fn prop_list_of_points(points in proptest::collection::vec(arb_point(), 0..100)) {
        let value = Value::List(points.iter().map(point_value).collect());
        check("echo-list", points, value);
    }

    #[test]
    fn prop_shape(sh in arb_shape()) {
        let value = shape_value(&sh);
        check_eq("echo-variant", sh, vec![value], shape_eq);
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format spot checks and decoder agreement on unusual input
// ---------------------------------------------------------------------------------------------

/// A few encodings spelled out, so the comparisons above cannot agree on something wrong.
#[test]
fn wire_format_spot_checks() {
    let cases: Vec<(&str, Value, &[u8])> = vec![
        ("echo-u32", Value::U32(128), &[0x80, 0x01]),
        ("echo-s32", Value::S32(-1), &[0x7f]),
        ("echo-s16", Value::S16(-65), &[0xbf, 0x7f]),
        ("echo-s16", Value::S16(64), &[0xc0, 0x00]),
        ("echo-s8", Value::S8(-1), &[0xff]),
        ("echo-char", Value::Char('é'), &[0xc3, 0xa9]),
        ("echo-string", s("é"), &[0x02, 0xc3, 0xa9]),
        ("echo-variant", Value::Variant(2, None), &[0x02]),
        ("echo-option", Value::Option(None), &[0x00]),
        (
            "echo-result",
            Value::Result(Err(Some(Box::new(s(""))))),
            &[0x01, 0x00],
        ),
        (
            "echo-record",
            Value::Record(vec![Value::S32(1), Value::S32(-1)]),
            &[0x01, 0x7f],
        ),
        ("echo-wide-flags", Value::Flags(vec![0, 9]), &[0x01, 0x02]),
        (
            "echo-own",
            Value::Handle(Bytes::from_static(b"ab")),
            &[0x02, b'a', b'b'],
        ),
    ];
    for (name, value, bytes) in cases {
        let f = func(name);
        let mut out = BytesMut::new();
        encode_values(
            &f.params,
            &f.param_labels,
            std::slice::from_ref(&value),
            &mut out,
        )
        .unwrap();
        assert_same_bytes(name, &out, bytes);
    }
}

/// Decodes `bytes` with both decoders and reports any disagreement: one accepts what the other
/// rejects, or both accept with different values.
fn agree<T>(name: &str, bytes: &[u8], model: impl Fn(&T) -> Value) -> Option<String>
where
    T: Debug + Decode<UpstreamIncoming>,
    <T::Decoder as tokio_util::codec::Decoder>::Error: std::error::Error + Send + Sync + 'static,
{
    let f = func(name);
    let up = upstream_decode::<T>(bytes);
    let ours = decode_values(&f.params, &f.param_labels, bytes, &Limits::default());
    match (up, ours) {
        (Err(_), Err(_)) => None,
        (Ok(up), Ok(ours)) if ours.len() == 1 && same_value(&model(&up), &ours[0]) => None,
        (up, ours) => Some(format!(
            "{name} [{}]: upstream {}, witmesh {}",
            hex(bytes),
            match up {
                Ok(v) => format!("accepts {v:?}"),
                Err(e) => format!("rejects ({e:#})"),
            },
            match ours {
                Ok(v) => format!("accepts {v:?}"),
                Err(e) => format!("rejects ({e})"),
            },
        )),
    }
}

/// Non-minimal LEB128, range edges, bad tags and invalid UTF-8: witmesh accepts exactly what
/// upstream accepts, with the same values.
#[test]
fn decoders_agree_on_unusual_input() {
    let mut out: Vec<Option<String>> = Vec::new();
    for b in [
        &[0x80, 0x00][..],
        &[0xff, 0xff, 0x03],
        &[0xff, 0xff, 0x04],
        &[0x80, 0x80, 0x00],
        &[0x80, 0x80, 0x80, 0x00],
    ] {
        out.push(agree::<u16>("echo-u16", b, |v| Value::U16(*v)));
    }
    for b in [
        &[0x80, 0x00][..],
        &[0x80, 0x80, 0x80, 0x80, 0x00],
        &[0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0xff, 0xff, 0xff, 0xff, 0x1f],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    ] {
        out.push(agree::<u32>("echo-u32", b, |v| Value::U32(*v)));
    }
    for b in [
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
        &[
            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ],
    ] {
        out.push(agree::<u64>("echo-u64", b, |v| Value::U64(*v)));
    }
    for b in [
        &[0xff, 0x7f][..],
        &[0xff, 0xff, 0x01],
        &[0x80, 0x80, 0x7e],
        &[0xff, 0xff, 0x02],
        &[0x80, 0x80, 0x7d],
        &[0xff, 0xff, 0x7f],
        &[0x80, 0x80, 0x00],
    ] {
        out.push(agree::<i16>("echo-s16", b, |v| Value::S16(*v)));
    }
    for b in [
        &[0xff, 0xff, 0xff, 0xff, 0x07][..],
        &[0x80, 0x80, 0x80, 0x80, 0x78],
        &[0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0x80, 0x80, 0x80, 0x80, 0x70],
        &[0xff, 0xff, 0xff, 0xff, 0x7f],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    ] {
        out.push(agree::<i32>("echo-s32", b, |v| Value::S32(*v)));
    }
    for b in [
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00][..],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40],
    ] {
        out.push(agree::<i64>("echo-s64", b, |v| Value::S64(*v)));
    }
    for b in [&[0x02][..], &[0xff]] {
        out.push(agree::<bool>("echo-bool", b, |v| Value::Bool(*v)));
    }
    // Overlong forms are left out: see `overlong_char_rejected_unlike_upstream`.
    for b in [
        &[0xed, 0xa0, 0x80][..],
        &[0xf4, 0x90, 0x80, 0x80],
        &[0x80],
        &[0xf8, 0x80, 0x80, 0x80],
    ] {
        out.push(agree::<char>("echo-char", b, |v| Value::Char(*v)));
    }
    for b in [&[0x01, 0xff][..], &[0x02, 0xc0, 0x80], &[0x03, b'a', b'b']] {
        out.push(agree::<String>("echo-string", b, |v| s(v)));
    }
    for b in [&[0x03][..], &[0x80, 0x00], &[0xff, 0xff, 0xff, 0xff, 0x0f]] {
        out.push(agree::<Color>("echo-enum", b, color_value));
    }
    for b in [&[0x03][..], &[0x82, 0x00], &[0x02, 0x00]] {
        out.push(agree::<Shape>("echo-variant", b, shape_value));
    }
    for b in [&[0x02][..], &[0x01], &[0x00, 0x00]] {
        out.push(agree::<Option<String>>("echo-option", b, |v| {
            Value::Option(v.as_ref().map(|t| Box::new(s(t))))
        }));
    }
    for b in [&[0x02, 0x00][..], &[0x00, 0x01]] {
        out.push(agree::<Result<Point, String>>("echo-result", b, |v| {
            Value::Result(match v {
                Ok(p) => Ok(Some(Box::new(point_value(p)))),
                Err(t) => Err(Some(Box::new(s(t)))),
            })
        }));
    }
    for b in [&[0x08][..], &[0xff], &[0x07], &[]] {
        out.push(agree::<Permissions>("echo-flags", b, perms_value));
    }
    for b in [&[0xff, 0xff][..], &[0x01]] {
        out.push(agree::<WideFlags>("echo-wide-flags", b, wide_value));
    }
    for b in [&[0x02, 0x01, 0x02][..], &[0x05, 0x01, 0x02]] {
        out.push(agree::<Vec<Point>>("echo-list", b, |v| {
            Value::List(v.iter().map(point_value).collect())
        }));
    }
    let mismatches: Vec<String> = out.into_iter().flatten().collect();
    assert!(
        mismatches.is_empty(),
        "decoders disagree:\n  {}",
        mismatches.join("\n  ")
    );
}

/// Known, deliberate divergence: upstream's char decoder (`utf8-tokio` 0.2) accepts overlong
/// UTF-8 (`c0 80` decodes to U+0000), which is not valid UTF-8; witmesh rejects it. No encoder
/// produces overlong forms, so well-formed peers never see the difference.
#[test]
fn overlong_char_rejected_unlike_upstream() {
    let f = func("echo-char");
    for b in [
        &[0xc0, 0x80][..],
        &[0xe0, 0x80, 0x80],
        &[0xf0, 0x80, 0x80, 0x80],
    ] {
        assert_eq!(
            upstream_decode::<char>(b).unwrap(),
            '\0',
            "upstream [{}]",
            hex(b)
        );
        assert!(
            decode_values(&f.params, &f.param_labels, b, &Limits::default()).is_err(),
            "witmesh accepted overlong [{}]",
            hex(b)
        );
    }
}
