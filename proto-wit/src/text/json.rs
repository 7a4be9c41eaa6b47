//! JSON for WIT values, both ways. The mapping is the table in `docs/gateway.md`; the HTTP
//! gateway and `witmesh call --json` speak it, and [`super::schema`] describes it.

use std::fmt;

use base64::Engine as _;
use serde_json::{json, Number, Value as Json};

use crate::codec::{PathSeg, ValuePath};
use crate::ty::{FlagsTy, RecordTy, Ty, VariantTy};
use crate::value::{FutureValue, StreamValue, Value};

/// Integers beyond this magnitude are written as strings: JSON numbers lose precision past
/// 2^53 in most languages.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A JSON value that does not fit its WIT type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where in the value.
    pub path: ValuePath,
    /// What was expected and found.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.0.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JsonError {}

impl JsonError {
    fn new(message: impl Into<String>) -> Self {
        JsonError {
            path: ValuePath::default(),
            message: message.into(),
        }
    }

    fn within(mut self, seg: PathSeg) -> Self {
        self.path.0.insert(0, seg);
        self
    }
}

fn expected(what: &str, found: &Json) -> JsonError {
    let mut shown: String = found.to_string().chars().take(40).collect();
    if shown.len() < found.to_string().len() {
        shown.push('…');
    }
    JsonError::new(format!("expected {what}, found {shown}"))
}

/// Whether a value of `ty` can be JSON `null`, in which case `option<ty>` must wrap `some`.
fn nullable(ty: &Ty) -> bool {
    matches!(ty, Ty::Option(_))
}

fn float_to_json(f: f64) -> Json {
    if f.is_nan() {
        json!("NaN")
    } else if f.is_infinite() {
        json!(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

fn payload_to_json(ty: Option<&Ty>, v: Option<&Value>) -> Json {
    match (ty, v) {
        (Some(ty), Some(v)) => to_json(ty, v),
        _ => Json::Null,
    }
}

/// Writes `v` (a value of `ty`) as JSON. Values that do not match their type (which the codec
/// never produces) are written as `null`.
#[must_use]
pub fn to_json(ty: &Ty, v: &Value) -> Json {
    let b64 = |b: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(b));
    match (ty, v) {
        (_, Value::Bool(b)) => json!(b),
        (_, Value::S8(x)) => json!(x),
        (_, Value::S16(x)) => json!(x),
        (_, Value::S32(x)) => json!(x),
        (_, Value::U8(x)) => json!(x),
        (_, Value::U16(x)) => json!(x),
        (_, Value::U32(x)) => json!(x),
        (_, Value::S64(x)) if x.unsigned_abs() <= MAX_SAFE_INTEGER => json!(x),
        (_, Value::S64(x)) => json!(x.to_string()),
        (_, Value::U64(x)) if *x <= MAX_SAFE_INTEGER => json!(x),
        (_, Value::U64(x)) => json!(x.to_string()),
        (_, Value::F32(x)) => float_to_json(f64::from(*x)),
        (_, Value::F64(x)) => float_to_json(*x),
        (_, Value::Char(c)) => json!(c.to_string()),
        (_, Value::String(s)) => json!(s),
        (_, Value::Bytes(b)) | (_, Value::Handle(b)) => b64(b),
        (Ty::List(t), Value::List(vs)) => Json::Array(vs.iter().map(|v| to_json(t, v)).collect()),
        (Ty::Record(r), Value::Record(vs)) => Json::Object(
            r.fields
                .iter()
                .zip(vs)
                .map(|((n, t), v)| (n.clone(), to_json(t, v)))
                .collect(),
        ),
        (Ty::Tuple(ts), Value::Tuple(vs)) => {
            Json::Array(ts.iter().zip(vs).map(|(t, v)| to_json(t, v)).collect())
        }
        (Ty::Variant(vt), Value::Variant(i, p)) => match vt.cases.get(*i as usize) {
            Some((name, t)) => json!({ name: payload_to_json(t.as_ref(), p.as_deref()) }),
            None => Json::Null,
        },
        (Ty::Enum(e), Value::Enum(i)) => e.cases.get(*i as usize).map_or(Json::Null, |c| json!(c)),
        (Ty::Option(_), Value::Option(None)) => Json::Null,
        (Ty::Option(t), Value::Option(Some(v))) if nullable(t) => json!({ "some": to_json(t, v) }),
        (Ty::Option(t), Value::Option(Some(v))) => to_json(t, v),
        (Ty::Result(r), Value::Result(Ok(p))) => {
            json!({ "ok": payload_to_json(r.ok.as_ref(), p.as_deref()) })
        }
        (Ty::Result(r), Value::Result(Err(p))) => {
            json!({ "err": payload_to_json(r.err.as_ref(), p.as_deref()) })
        }
        (Ty::Flags(f), Value::Flags(set)) => Json::Array(
            set.iter()
                .filter_map(|i| f.flags.get(*i as usize))
                .map(|n| json!(n))
                .collect(),
        ),
        (Ty::Future(_), Value::Future(FutureValue::Pending))
        | (Ty::Stream(_), Value::Stream(StreamValue::Pending)) => json!("pending"),
        (Ty::Future(t), Value::Future(FutureValue::Ready(p))) => {
            json!({ "ready": payload_to_json(t.as_deref(), p.as_deref()) })
        }
        (Ty::Stream(t), Value::Stream(StreamValue::Ready(chunk))) => {
            let elem = t.as_deref().cloned().unwrap_or(Ty::Tuple([].into()));
            to_json(&Ty::List(elem.into()), chunk)
        }
        _ => Json::Null,
    }
}

fn int<T: TryFrom<i128>>(j: &Json, what: &str) -> Result<T, JsonError> {
    let n: Option<i128> = match j {
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Json::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| expected(&format!("an integer in the range of {what}"), j))
}

fn float(j: &Json, what: &str) -> Result<f64, JsonError> {
    match j {
        Json::Number(n) => n.as_f64().ok_or_else(|| expected(what, j)),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(expected(what, j)),
        },
        _ => Err(expected(what, j)),
    }
}

fn bytes_from_json(j: &Json, what: &str) -> Result<bytes::Bytes, JsonError> {
    match j {
        Json::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Into::into)
            .map_err(|e| JsonError::new(format!("{what} is not valid base64: {e}"))),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| int::<u8>(x, "u8").map_err(|e| e.within(PathSeg::Index(i as u64))))
            .collect::<Result<Vec<u8>, _>>()
            .map(Into::into),
        _ => Err(expected(
            &format!("{what} as a base64 string or an array of bytes"),
            j,
        )),
    }
}

fn payload_from_json(ty: Option<&Ty>, j: &Json) -> Result<Option<Box<Value>>, JsonError> {
    match ty {
        Some(ty) => Ok(Some(Box::new(from_json(ty, j)?))),
        None if j.is_null() => Ok(None),
        None => Err(expected("null (the case has no payload)", j)),
    }
}

/// The single `{"name": payload}` entry of a tagged object.
fn single_entry<'a>(j: &'a Json, what: &str) -> Result<(&'a String, &'a Json), JsonError> {
    match j {
        Json::Object(m) if m.len() == 1 => Ok(m.iter().next().ok_or_else(|| expected(what, j))?),
        _ => Err(expected(what, j)),
    }
}

fn list_from_json(elem: &Ty, j: &Json) -> Result<Value, JsonError> {
    if *elem == Ty::U8 {
        return Ok(Value::Bytes(bytes_from_json(j, "list<u8>")?));
    }
    let Json::Array(items) = j else {
        return Err(expected(&format!("an array of {elem}"), j));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| from_json(elem, x).map_err(|e| e.within(PathSeg::Index(i as u64))))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::List)
}

/// Reads a value of `ty` from JSON, with an error naming the path and what was expected.
pub fn from_json(ty: &Ty, j: &Json) -> Result<Value, JsonError> {
    Ok(match ty {
        Ty::Bool => Value::Bool(j.as_bool().ok_or_else(|| expected("true or false", j))?),
        Ty::S8 => Value::S8(int(j, "s8")?),
        Ty::S16 => Value::S16(int(j, "s16")?),
        Ty::S32 => Value::S32(int(j, "s32")?),
        Ty::S64 => Value::S64(int(j, "s64")?),
        Ty::U8 => Value::U8(int(j, "u8")?),
        Ty::U16 => Value::U16(int(j, "u16")?),
        Ty::U32 => Value::U32(int(j, "u32")?),
        Ty::U64 => Value::U64(int(j, "u64")?),
        Ty::F32 => Value::F32(float(j, "a number (f32)")? as f32),
        Ty::F64 => Value::F64(float(j, "a number (f64)")?),
        Ty::Char => {
            let s = j
                .as_str()
                .ok_or_else(|| expected("a one-character string", j))?;
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Value::Char(c),
                _ => return Err(expected("a one-character string", j)),
            }
        }
        Ty::String => Value::String(
            j.as_str()
                .ok_or_else(|| expected("a string", j))?
                .to_owned(),
        ),
        Ty::List(elem) => list_from_json(elem, j)?,
        Ty::Record(r) => record_from_json(r, j)?,
        Ty::Tuple(ts) => tuple_from_json(ts, j)?,
        Ty::Variant(vt) => variant_from_json(vt, j)?,
        Ty::Enum(e) => {
            let s = j.as_str().ok_or_else(|| expected("a case name", j))?;
            let i = e.cases.iter().position(|c| c == s).ok_or_else(|| {
                JsonError::new(format!(
                    "unknown case `{s}` (cases: {})",
                    e.cases.join(", ")
                ))
            })?;
            Value::Enum(i as u32)
        }
        Ty::Option(t) => match j {
            Json::Null => Value::Option(None),
            Json::Object(m) if nullable(t) => {
                let x = m
                    .get("some")
                    .filter(|_| m.len() == 1)
                    .ok_or_else(|| expected("null or {\"some\": value}", j))?;
                Value::Option(Some(Box::new(
                    from_json(t, x).map_err(|e| e.within(PathSeg::Some))?,
                )))
            }
            _ if nullable(t) => return Err(expected("null or {\"some\": value}", j)),
            _ => Value::Option(Some(Box::new(
                from_json(t, j).map_err(|e| e.within(PathSeg::Some))?,
            ))),
        },
        Ty::Result(r) => {
            let (tag, payload) = single_entry(j, "{\"ok\": value} or {\"err\": value}")?;
            match tag.as_str() {
                "ok" => {
                    Value::Result(Ok(payload_from_json(r.ok.as_ref(), payload)
                        .map_err(|e| e.within(PathSeg::Ok))?))
                }
                "err" => Value::Result(Err(payload_from_json(r.err.as_ref(), payload)
                    .map_err(|e| e.within(PathSeg::Err))?)),
                _ => return Err(expected("{\"ok\": value} or {\"err\": value}", j)),
            }
        }
        Ty::Flags(f) => flags_from_json(f, j)?,
        Ty::Own(_) | Ty::Borrow(_) => Value::Handle(bytes_from_json(j, "a resource handle")?),
        Ty::Future(t) => match j {
            Json::String(s) if s == "pending" => Value::Future(FutureValue::Pending),
            _ => {
                let (tag, payload) = single_entry(j, "\"pending\" or {\"ready\": value}")?;
                if tag != "ready" {
                    return Err(expected("\"pending\" or {\"ready\": value}", j));
                }
                Value::Future(FutureValue::Ready(
                    payload_from_json(t.as_deref(), payload)
                        .map_err(|e| e.within(PathSeg::Ready))?,
                ))
            }
        },
        Ty::Stream(t) => match j {
            Json::String(s) if s == "pending" => Value::Stream(StreamValue::Pending),
            _ => {
                let elem = t.as_deref().cloned().unwrap_or(Ty::Tuple([].into()));
                match list_from_json(&elem, j)? {
                    Value::Bytes(b) if b.is_empty() => Value::Stream(StreamValue::Pending),
                    Value::List(l) if l.is_empty() => Value::Stream(StreamValue::Pending),
                    chunk => Value::Stream(StreamValue::Ready(Box::new(chunk))),
                }
            }
        },
    })
}

fn record_from_json(r: &RecordTy, j: &Json) -> Result<Value, JsonError> {
    let Json::Object(m) = j else {
        return Err(expected("an object", j));
    };
    if let Some(k) = m.keys().find(|k| !r.fields.iter().any(|(n, _)| n == *k)) {
        let known: Vec<&str> = r.fields.iter().map(|(n, _)| n.as_str()).collect();
        return Err(JsonError::new(format!(
            "unknown field `{k}` (fields: {})",
            known.join(", ")
        )));
    }
    let mut fields = Vec::with_capacity(r.fields.len());
    for (name, t) in &r.fields {
        let v = match m.get(name) {
            Some(x) => from_json(t, x),
            None if matches!(t, Ty::Option(_)) => Ok(Value::Option(None)),
            None => Err(JsonError::new(format!("missing field `{name}`"))),
        };
        fields.push(v.map_err(|e| e.within(PathSeg::Field(name.clone())))?);
    }
    Ok(Value::Record(fields))
}

fn tuple_from_json(ts: &[Ty], j: &Json) -> Result<Value, JsonError> {
    let Json::Array(items) = j else {
        return Err(expected(&format!("an array of {} values", ts.len()), j));
    };
    if items.len() != ts.len() {
        return Err(expected(&format!("an array of {} values", ts.len()), j));
    }
    let mut vs = Vec::with_capacity(ts.len());
    for (i, (t, x)) in ts.iter().zip(items).enumerate() {
        vs.push(from_json(t, x).map_err(|e| e.within(PathSeg::Index(i as u64)))?);
    }
    Ok(Value::Tuple(vs))
}

fn variant_from_json(vt: &VariantTy, j: &Json) -> Result<Value, JsonError> {
    let case_names = || {
        vt.cases
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, payload) = match j {
        Json::String(s) => (s, &Json::Null),
        _ => single_entry(j, "an object with one case, such as {\"case\": payload}")?,
    };
    let Some(i) = vt.cases.iter().position(|(n, _)| n == name) else {
        return Err(JsonError::new(format!(
            "unknown case `{name}` (cases: {})",
            case_names()
        )));
    };
    let p = payload_from_json(vt.cases[i].1.as_ref(), payload)
        .map_err(|e| e.within(PathSeg::Case(name.clone())))?;
    Ok(Value::Variant(i as u32, p))
}

fn flags_from_json(f: &FlagsTy, j: &Json) -> Result<Value, JsonError> {
    let Json::Array(items) = j else {
        return Err(expected("an array of flag names", j));
    };
    let mut set = Vec::with_capacity(items.len());
    for x in items {
        let name = x.as_str().ok_or_else(|| expected("a flag name", x))?;
        let i = f.flags.iter().position(|n| n == name).ok_or_else(|| {
            JsonError::new(format!(
                "unknown flag `{name}` (flags: {})",
                f.flags.join(", ")
            ))
        })?;
        set.push(i as u32);
    }
    set.sort_unstable();
    set.dedup();
    Ok(Value::Flags(set))
}

/// Reads a call's values from a JSON array (one element per parameter) or, for functions of
/// named parameters, an object keyed by parameter name.
pub fn values_from_json(
    tys: &[Ty],
    names: &[String],
    labels: &[String],
    j: &Json,
) -> Result<Vec<Value>, JsonError> {
    let label = |i: usize| PathSeg::top(labels, i);
    match j {
        Json::Array(items) if items.len() == tys.len() => tys
            .iter()
            .zip(items)
            .enumerate()
            .map(|(i, (t, x))| from_json(t, x).map_err(|e| e.within(label(i))))
            .collect(),
        Json::Object(m) if names.len() == tys.len() => {
            if let Some(k) = m.keys().find(|k| !names.contains(k)) {
                return Err(JsonError::new(format!(
                    "unknown parameter `{k}` (parameters: {})",
                    names.join(", ")
                )));
            }
            tys.iter()
                .zip(names)
                .enumerate()
                .map(|(i, (t, n))| {
                    let x = m.get(n).unwrap_or(&Json::Null);
                    from_json(t, x).map_err(|e| e.within(label(i)))
                })
                .collect()
        }
        _ => Err(expected(
            &format!(
                "an array of {} value(s) or an object of named parameters",
                tys.len()
            ),
            j,
        )),
    }
}

/// Writes a call's values as a JSON array.
#[must_use]
pub fn values_to_json(tys: &[Ty], values: &[Value]) -> Json {
    Json::Array(tys.iter().zip(values).map(|(t, v)| to_json(t, v)).collect())
}
