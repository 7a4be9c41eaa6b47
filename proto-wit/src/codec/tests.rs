//! Codec unit and property tests: round trips over generated types and values, incremental
//! decoding, async paths against wrpc-introspect, and hostile input.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::testgen::{any_ty, ty_and_value};
use crate::{Ty, Value, WitSet};

fn enc(ty: &Ty, v: &Value) -> BytesMut {
    let mut b = BytesMut::new();
    encode_value(ty, v, &mut b).unwrap();
    b
}

fn labels(n: usize) -> Arc<[String]> {
    (0..n).map(|i| format!("param p{i}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity((ty, v) in ty_and_value()) {
        let bytes = enc(&ty, &v);
        let back = decode_values(std::slice::from_ref(&ty), &labels(1), &bytes, &Limits::default()).unwrap();
        prop_assert_eq!(&back[0], &v);
        prop_assert_eq!(enc(&ty, &back[0]), bytes);
    }

    #[test]
    fn incremental_decoding_matches_whole((ty, v) in ty_and_value(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let tys: Arc<[Ty]> = vec![ty.clone(), Ty::U32].into();
        let mut bytes = enc(&ty, &v);
        encode_value(&Ty::U32, &Value::U32(7), &mut bytes).unwrap();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        let mut dec = ValuesDecoder::new(tys, labels(2), Limits::default());
        let mut buf = BytesMut::new();
        let mut last = 0;
        let mut out = None;
        for p in points {
            buf.extend_from_slice(&bytes[last..p]);
            last = p;
            if let Some(vs) = dec.decode(&mut buf).unwrap() {
                out = Some(vs);
                break;
            }
        }
        let out = out.unwrap();
        prop_assert_eq!(&out[0], &v);
        prop_assert_eq!(&out[1], &Value::U32(7));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn every_truncation_is_a_typed_error((ty, v) in ty_and_value()) {
        let bytes = enc(&ty, &v);
        for n in 0..bytes.len() {
            let e = decode_values(std::slice::from_ref(&ty), &labels(1), &bytes[..n], &Limits::default()).unwrap_err();
            prop_assert!(e.is_truncated(), "{e}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in any_ty(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_values(std::slice::from_ref(&ty), &labels(1), &bytes, &Limits::default());
    }
}

fn every_type() -> WitSet {
    WitSet::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/wit/every-type"
    ))
    .unwrap()
}

fn err_of(ty: Ty, bytes: &[u8]) -> DecodeError {
    decode_values(&[ty], &["param v".to_owned()], bytes, &Limits::default()).unwrap_err()
}

#[test]
fn leb128_is_checked_against_the_type() {
    assert_eq!(
        err_of(Ty::U16, &[0xff, 0xff, 0x04]).kind,
        DecodeErrorKind::LebOverflow { ty: "u16" }
    );
    assert_eq!(
        err_of(Ty::U32, &[0xff, 0xff, 0xff, 0xff, 0x10]).kind,
        DecodeErrorKind::LebOverflow { ty: "u32" }
    );
    assert_eq!(
        err_of(Ty::U64, &[0xff; 11]).kind,
        DecodeErrorKind::LebOverflow { ty: "u64" }
    );
    assert_eq!(
        err_of(Ty::S16, &[0x80, 0x80, 0x02]).kind,
        DecodeErrorKind::LebOverflow { ty: "s16" }
    );
    let max = decode_values(
        &[Ty::U64],
        &[],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(max, vec![Value::U64(u64::MAX)]);
    let min = decode_values(
        &[Ty::S64],
        &[],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(min, vec![Value::S64(i64::MIN)]);
}

#[test]
fn a_list_claiming_four_billion_elements_allocates_nothing() {
    let ty = Ty::List(Arc::new(Ty::U32));
    // u32::MAX elements, then nothing: over the default limit, rejected before any allocation.
    let e = err_of(ty.clone(), &[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::TooLong {
                what: "list length",
                ..
            }
        ),
        "{e}"
    );
    // With the limit lifted the claim still only reserves what the bytes at hand can hold.
    let lifted = Limits {
        max_list_len: u32::MAX,
        ..Limits::default()
    };
    let e = decode_values(&[ty], &[], &[0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2], &lifted).unwrap_err();
    assert!(e.is_truncated(), "{e}");
    // 2^32 does not fit the u32 length at all.
    let e = err_of(Ty::String, &[0x80, 0x80, 0x80, 0x80, 0x10]);
    assert_eq!(e.kind, DecodeErrorKind::LebOverflow { ty: "u32" });
}

#[test]
fn hostile_bytes_get_typed_errors_with_paths() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-string")
        .unwrap();
    let e = decode_values(
        &f.params,
        &f.param_labels,
        &[2, 0xc3, 0x28],
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "param v: invalid UTF-8 in string");

    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-variant")
        .unwrap();
    let e = decode_values(&f.params, &f.param_labels, &[7], &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "param v: variant discriminant 7 out of range (3 cases)"
    );

    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-nested")
        .unwrap();
    // label "a", one child list holding [none, some(point{x: 1, y: <truncated>})]
    let e = decode_values(
        &f.params,
        &f.param_labels,
        &[1, b'a', 1, 2, 0, 1, 2],
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "param v.children[0][1]<some>.y: input ends inside the value (1 more byte(s) needed at least)");

    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-flags")
        .unwrap();
    let e = decode_values(&f.params, &f.param_labels, &[0b1000], &Limits::default()).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::UnknownFlags { flags: 3 });

    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-bool")
        .unwrap();
    let e = decode_values(&f.params, &f.param_labels, &[1, 0], &Limits::default()).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::TrailingBytes(1));
    let e = decode_values(&f.params, &f.param_labels, &[2], &Limits::default()).unwrap_err();
    assert_eq!(e.to_string(), "param v: bool byte is 0x02, expected 0 or 1");

    let e = err_of(Ty::Char, &[0xed, 0xa0, 0x80]);
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8 { what: "char" });
}

#[test]
fn deep_nesting_stops_at_the_depth_limit() {
    let mut ty = Ty::U8;
    for _ in 0..200 {
        ty = Ty::Option(Arc::new(ty));
    }
    let bytes = vec![1u8; 201];
    let e = err_of(ty, &bytes);
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooDeep {
            max: DEFAULT_MAX_DEPTH
        }
    );
}

#[test]
fn a_call_over_the_byte_limit_is_refused_early() {
    let limits = Limits {
        max_call_bytes: 16,
        ..Limits::default()
    };
    let tys: Arc<[Ty]> = vec![Ty::String].into();
    let mut dec = ValuesDecoder::new(tys, labels(1), limits);
    // A string claiming 100 bytes cannot fit a 16-byte call: refused before the bytes arrive.
    let mut buf = BytesMut::from(&[100u8, b'x'][..]);
    let e = dec.decode(&mut buf).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::CallTooLarge { max: 16 });
}

#[test]
fn truncated_stream_reports_the_value_being_read() {
    let tys: Arc<[Ty]> = vec![Ty::U8, Ty::String].into();
    let mut dec = ValuesDecoder::new(tys, labels(2), Limits::default());
    let mut buf = BytesMut::from(&[1u8, 5, b'a'][..]);
    assert!(dec.decode(&mut buf).unwrap().is_none());
    assert_eq!(
        dec.truncated().to_string(),
        "param p1: input ends inside the value (4 more byte(s) needed at least)"
    );
}

#[test]
fn encoding_type_checks_with_paths() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-record")
        .unwrap();
    let mut b = BytesMut::new();
    let e = encode_values(
        &f.params,
        &f.param_labels,
        &[Value::Record(vec![Value::S32(1), Value::U8(2)])],
        &mut b,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "param v.y: expected s32, found a u8 value");
    let e = encode_values(&f.params, &f.param_labels, &[], &mut b).unwrap_err();
    assert_eq!(
        e.kind,
        EncodeErrorKind::Arity {
            expected: 1,
            found: 0
        }
    );
}

#[test]
fn known_encodings() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-many")
        .unwrap();
    let mut b = BytesMut::new();
    encode_values(
        &f.params,
        &f.param_labels,
        &[
            Value::U32(300),
            "hi".into(),
            Value::Bytes(vec![9u8].into()),
            Value::Option(Some(Box::new(Value::Bool(true)))),
        ],
        &mut b,
    )
    .unwrap();
    assert_eq!(&b[..], &[0xac, 0x02, 2, b'h', b'i', 1, 9, 1, 1]);
    let mut b = BytesMut::new();
    encode_value(&Ty::S32, &Value::S32(-129), &mut b).unwrap();
    assert_eq!(&b[..], &[0xff, 0x7e]);
}

/// The paths wRPC (wrpc-introspect 0.7, which `wit-bindgen-wrpc` peers use) gives this
/// signature, worked out from its rules: records and tuples add the field index, lists and
/// streams add `None`, options, results, variants and futures add nothing; a path ends where
/// a future or stream is.
#[test]
fn async_paths_follow_wrpc_rules() {
    let src = r#"
        package t:paths@0.1.0;
        interface i {
            record r { a: u32, s: stream<u8>, f: future<list<stream<string>>> }
            variant v { x(future<u8>), y(r) }
            f: func(a: r, b: list<r>, c: option<future<u32>>, d: tuple<u8, stream<r>>, e: v, g: result<stream<u8>, r>) -> tuple<stream<u8>, future>;
        }
    "#;
    let set = WitSet::from_wit_str("paths.wit", src).unwrap();
    let n = None;
    let expected: std::collections::BTreeSet<Vec<Option<u32>>> = [
        vec![Some(0), Some(1)],
        vec![Some(0), Some(2)],
        vec![Some(0), Some(2), n],
        vec![Some(1), n, Some(1)],
        vec![Some(1), n, Some(2)],
        vec![Some(1), n, Some(2), n],
        vec![Some(2)],
        vec![Some(3), Some(1)],
        vec![Some(3), Some(1), n, Some(1)],
        vec![Some(3), Some(1), n, Some(2)],
        vec![Some(3), Some(1), n, Some(2), n],
        vec![Some(4)],
        vec![Some(4), Some(1)],
        vec![Some(4), Some(2)],
        vec![Some(4), Some(2), n],
        vec![Some(5)],
        vec![Some(5), Some(1)],
        vec![Some(5), Some(2)],
        vec![Some(5), Some(2), n],
    ]
    .into_iter()
    .collect();
    let ours = set.func("t:paths/i@0.1.0", "f").unwrap();
    assert_eq!(values_async_paths(&ours.params), expected);
}
