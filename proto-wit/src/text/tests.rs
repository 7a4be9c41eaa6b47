//! Text-form tests: JSON and WAVE round trips over generated types and values, the documented
//! JSON mapping, and clear errors.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::json;

use super::json::{from_json, to_json, values_from_json};
use super::schema::schema;
use super::wave::{from_wave, to_wave};
use crate::testgen::ty_and_value;
use crate::{Ty, Value, WitSet};

/// Whether WAVE can express `ty` (it has no empty tuples and no element-less streams).
fn wave_expressible(ty: &Ty) -> bool {
    match ty {
        Ty::Tuple(ts) => !ts.is_empty() && ts.iter().all(wave_expressible),
        Ty::Stream(None) => false,
        Ty::Stream(Some(t)) | Ty::List(t) | Ty::Option(t) => wave_expressible(t),
        Ty::Future(t) => t.as_deref().is_none_or(wave_expressible),
        Ty::Record(r) => r.fields.iter().all(|(_, t)| wave_expressible(t)),
        Ty::Variant(v) => v
            .cases
            .iter()
            .all(|(_, t)| t.as_ref().is_none_or(wave_expressible)),
        Ty::Result(r) => {
            r.ok.as_ref().is_none_or(wave_expressible)
                && r.err.as_ref().is_none_or(wave_expressible)
        }
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_round_trips((ty, v) in ty_and_value()) {
        let j = to_json(&ty, &v);
        let text = j.to_string();
        let back = from_json(&ty, &serde_json::from_str(&text).unwrap()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn wave_round_trips((ty, v) in ty_and_value().prop_filter("WAVE-expressible", |(t, _)| wave_expressible(t))) {
        let text = to_wave(&ty, &v).unwrap();
        let back = from_wave(&ty, &text).unwrap();
        prop_assert_eq!(back, v, "WAVE text: {}", text);
    }

    #[test]
    fn every_json_form_is_described_by_an_object_schema((ty, v) in ty_and_value()) {
        // The schema is well formed JSON of object kind for every type and value.
        prop_assert!(schema(&ty).is_object());
        let _ = to_json(&ty, &v);
    }
}

fn every_type() -> WitSet {
    WitSet::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/wit/every-type"
    ))
    .unwrap()
}

#[test]
fn json_mapping_follows_the_readme_table() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-everything")
        .unwrap();
    let input = json!({
        "flag": true, "small": -1, "medium": 300, "large": -70000, "huge": "-9007199254740993",
        "byte": 255, "word": 65535, "dword": 4000000000u64, "qword": "18446744073709551615",
        "single": 1.5, "double": "NaN", "letter": "é", "text": "hi",
        "raw": "AQID", "words": ["a", "b"], "pair": [7, "x"],
        "maybe": { "x": 1, "y": 2 }, "outcome": { "err": 5 },
        "shape": { "rect": { "x": 0, "y": 1 } }, "color": "blue",
        "perms": ["read", "exec"], "wide": ["f0", "f15"]
    });
    let vs = values_from_json(&f.params, &f.param_names, &f.param_labels, &json!([input])).unwrap();
    let Value::Record(fields) = &vs[0] else {
        panic!("not a record")
    };
    assert_eq!(fields[4], Value::S64(-9_007_199_254_740_993));
    assert_eq!(fields[8], Value::U64(u64::MAX));
    assert_eq!(fields[13], Value::Bytes(vec![1u8, 2, 3].into()));
    assert_eq!(fields[20], Value::Flags(vec![0, 2]));
    let out = to_json(&f.params[0], &vs[0]);
    assert_eq!(out["huge"], json!("-9007199254740993"));
    assert_eq!(out["qword"], json!("18446744073709551615"));
    assert_eq!(out["dword"], json!(4_000_000_000u64));
    assert_eq!(out["raw"], json!("AQID"));
    assert_eq!(out["double"], json!("NaN"));
    assert_eq!(out["outcome"], json!({ "err": 5 }));
    assert_eq!(out["shape"], json!({ "rect": { "x": 0, "y": 1 } }));
    assert_eq!(out["maybe"], json!({ "x": 1, "y": 2 }));
    assert_eq!(out["perms"], json!(["read", "exec"]));
}

#[test]
fn json_errors_name_the_path_and_the_expectation() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-record")
        .unwrap();
    let e = values_from_json(
        &f.params,
        &f.param_names,
        &f.param_labels,
        &json!([{ "x": 1, "y": "two" }]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "param v.y: expected an integer in the range of s32, found \"two\""
    );
    let e = values_from_json(
        &f.params,
        &f.param_names,
        &f.param_labels,
        &json!([{ "x": 1, "z": 2 }]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "param v: unknown field `z` (fields: x, y)");
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-enum")
        .unwrap();
    let e = values_from_json(
        &f.params,
        &f.param_names,
        &f.param_labels,
        &json!({ "v": "pink" }),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "param v: unknown case `pink` (cases: red, green, blue)"
    );
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-u8")
        .unwrap();
    let e =
        values_from_json(&f.params, &f.param_names, &f.param_labels, &json!([256])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "param v: expected an integer in the range of u8, found 256"
    );
}

#[test]
fn wave_reads_what_wasmtime_invoke_writes() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-variant")
        .unwrap();
    let v = from_wave(&f.params[0], "rect({x: 1, y: -2})").unwrap();
    assert_eq!(
        v,
        Value::Variant(
            1,
            Some(Box::new(Value::Record(vec![Value::S32(1), Value::S32(-2)])))
        )
    );
    assert_eq!(to_wave(&f.params[0], &v).unwrap(), "rect({x: 1, y: -2})");
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-flags")
        .unwrap();
    assert_eq!(
        from_wave(&f.params[0], "{read, exec}").unwrap(),
        Value::Flags(vec![0, 2])
    );
    let e = from_wave(&f.params[0], "{read, fly}").unwrap_err();
    assert!(e.to_string().contains("fly"), "{e}");
}

#[test]
fn schemas_describe_records_and_variants() {
    let set = every_type();
    let f = set
        .func("witmesh:every-type/echo@0.1.0", "echo-record")
        .unwrap();
    assert_eq!(
        schema(&f.params[0]),
        json!({
            "title": "point",
            "type": "object",
            "properties": {
                "x": { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                "y": { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX }
            },
            "required": ["x", "y"],
            "additionalProperties": false
        })
    );
}
