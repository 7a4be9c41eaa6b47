//! JSON Schema (2020-12) for the JSON form of each WIT type, reused by the gateway's OpenAPI.

use serde_json::{json, Value as Json};

use super::json::MAX_SAFE_INTEGER;
use crate::ty::Ty;

fn int_schema(min: i128, max: i128) -> Json {
    json!({ "type": "integer", "minimum": min, "maximum": max })
}

fn wide_int_schema(signed: bool) -> Json {
    let pattern = if signed { "^-?[0-9]+$" } else { "^[0-9]+$" };
    json!({
        "oneOf": [
            { "type": "integer", "minimum": if signed { -(MAX_SAFE_INTEGER as i64) } else { 0 }, "maximum": MAX_SAFE_INTEGER },
            { "type": "string", "pattern": pattern }
        ]
    })
}

fn float_schema() -> Json {
    json!({ "oneOf": [ { "type": "number" }, { "enum": ["NaN", "Infinity", "-Infinity"] } ] })
}

fn bytes_schema() -> Json {
    json!({
        "oneOf": [
            { "type": "string", "contentEncoding": "base64" },
            { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 255 } }
        ]
    })
}

fn payload_schema(ty: Option<&Ty>) -> Json {
    ty.map_or_else(|| json!({ "type": "null" }), schema)
}

fn tagged(tag: &str, payload: Json) -> Json {
    json!({
        "type": "object",
        "properties": { tag: payload },
        "required": [tag],
        "additionalProperties": false
    })
}

fn with_title(mut s: Json, name: Option<&String>) -> Json {
    if let (Some(name), Json::Object(m)) = (name, &mut s) {
        m.insert("title".into(), json!(name));
    }
    s
}

/// The JSON Schema of `ty`'s JSON form.
#[must_use]
pub fn schema(ty: &Ty) -> Json {
    match ty {
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::S8 => int_schema(i8::MIN.into(), i8::MAX.into()),
        Ty::S16 => int_schema(i16::MIN.into(), i16::MAX.into()),
        Ty::S32 => int_schema(i32::MIN.into(), i32::MAX.into()),
        Ty::U8 => int_schema(0, u8::MAX.into()),
        Ty::U16 => int_schema(0, u16::MAX.into()),
        Ty::U32 => int_schema(0, u32::MAX.into()),
        Ty::S64 => wide_int_schema(true),
        Ty::U64 => wide_int_schema(false),
        Ty::F32 | Ty::F64 => float_schema(),
        Ty::Char => json!({ "type": "string", "minLength": 1, "maxLength": 1 }),
        Ty::String => json!({ "type": "string" }),
        Ty::List(t) if **t == Ty::U8 => bytes_schema(),
        Ty::List(t) => json!({ "type": "array", "items": schema(t) }),
        Ty::Record(r) => {
            let props: serde_json::Map<String, Json> = r
                .fields
                .iter()
                .map(|(n, t)| (n.clone(), schema(t)))
                .collect();
            let required: Vec<&String> = r
                .fields
                .iter()
                .filter(|(_, t)| !matches!(t, Ty::Option(_)))
                .map(|(n, _)| n)
                .collect();
            with_title(
                json!({
                    "type": "object",
                    "properties": props,
                    "required": required,
                    "additionalProperties": false
                }),
                r.name.as_ref(),
            )
        }
        Ty::Tuple(ts) => json!({
            "type": "array",
            "prefixItems": ts.iter().map(schema).collect::<Vec<_>>(),
            "items": false,
            "minItems": ts.len(),
            "maxItems": ts.len()
        }),
        Ty::Variant(v) => {
            let cases: Vec<Json> = v
                .cases
                .iter()
                .flat_map(|(n, t)| {
                    let obj = tagged(n, payload_schema(t.as_ref()));
                    if t.is_none() {
                        vec![obj, json!({ "const": n })]
                    } else {
                        vec![obj]
                    }
                })
                .collect();
            with_title(json!({ "oneOf": cases }), v.name.as_ref())
        }
        Ty::Enum(e) => with_title(json!({ "enum": e.cases }), e.name.as_ref()),
        Ty::Option(t) if matches!(**t, Ty::Option(_)) => json!({
            "oneOf": [ { "type": "null" }, tagged("some", schema(t)) ]
        }),
        Ty::Option(t) => json!({ "oneOf": [ { "type": "null" }, schema(t) ] }),
        Ty::Result(r) => json!({
            "oneOf": [
                tagged("ok", payload_schema(r.ok.as_ref())),
                tagged("err", payload_schema(r.err.as_ref()))
            ]
        }),
        Ty::Flags(f) => with_title(
            json!({
                "type": "array",
                "items": { "enum": f.flags },
                "uniqueItems": true
            }),
            f.name.as_ref(),
        ),
        Ty::Own(r) | Ty::Borrow(r) => json!({
            "type": "string",
            "contentEncoding": "base64",
            "description": format!("handle to a `{r}` resource")
        }),
        Ty::Future(t) => json!({
            "oneOf": [ { "const": "pending" }, tagged("ready", payload_schema(t.as_deref())) ]
        }),
        Ty::Stream(t) => {
            let elem = t.as_deref().cloned().unwrap_or(Ty::Tuple([].into()));
            json!({ "oneOf": [ { "const": "pending" }, schema(&Ty::List(elem.into())) ] })
        }
    }
}
