//! WAVE, the WebAssembly Value Encoding that `wasmtime --invoke` and wasmCloud tooling write,
//! via the `wasm-wave` crate.
//!
//! WAVE has no syntax for handles, futures or streams, so witmesh writes them as WAVE types it
//! has: a handle as a string of hex bytes, `future<T>` as `option<T>` (`none` = pending),
//! `future` as the enum `pending | ready`, and `stream<T>` as `list<T>` (empty = pending).

use std::fmt;
use std::sync::Arc;

use wasm_wave::value::{Type as WType, Value as WValue};
use wasm_wave::wasm::{WasmValue as _, WasmValueError};

use crate::ty::Ty;
use crate::value::{FutureValue, StreamValue, Value};

/// A WAVE text that could not be read or a value that could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveError(pub String);

impl fmt::Display for WaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WaveError {}

impl From<WasmValueError> for WaveError {
    fn from(e: WasmValueError) -> Self {
        WaveError(e.to_string())
    }
}

fn unsupported(what: &str) -> WaveError {
    WaveError(format!("WAVE cannot express {what}; use JSON instead"))
}

fn future_enum() -> WType {
    // Two fixed cases: never empty.
    WType::enum_ty(["pending", "ready"]).unwrap_or(WType::BOOL)
}

fn stream_elem(t: &Option<Arc<Ty>>) -> Result<&Ty, WaveError> {
    t.as_deref()
        .ok_or_else(|| unsupported("a stream without element type"))
}

/// The WAVE type standing for `ty`.
pub fn wave_type(ty: &Ty) -> Result<WType, WaveError> {
    Ok(match ty {
        Ty::Bool => WType::BOOL,
        Ty::S8 => WType::S8,
        Ty::S16 => WType::S16,
        Ty::S32 => WType::S32,
        Ty::S64 => WType::S64,
        Ty::U8 => WType::U8,
        Ty::U16 => WType::U16,
        Ty::U32 => WType::U32,
        Ty::U64 => WType::U64,
        Ty::F32 => WType::F32,
        Ty::F64 => WType::F64,
        Ty::Char => WType::CHAR,
        Ty::String | Ty::Own(_) | Ty::Borrow(_) => WType::STRING,
        Ty::List(t) => WType::list(wave_type(t)?),
        Ty::Record(r) => WType::record(
            r.fields
                .iter()
                .map(|(n, t)| Ok((n.as_str(), wave_type(t)?)))
                .collect::<Result<Vec<_>, WaveError>>()?,
        )
        .ok_or_else(|| unsupported("an empty record"))?,
        Ty::Tuple(ts) => WType::tuple(ts.iter().map(wave_type).collect::<Result<Vec<_>, _>>()?)
            .ok_or_else(|| unsupported("an empty tuple"))?,
        Ty::Variant(v) => WType::variant(
            v.cases
                .iter()
                .map(|(n, t)| Ok((n.as_str(), t.as_ref().map(wave_type).transpose()?)))
                .collect::<Result<Vec<_>, WaveError>>()?,
        )
        .ok_or_else(|| unsupported("an empty variant"))?,
        Ty::Enum(e) => WType::enum_ty(e.cases.iter().map(String::as_str))
            .ok_or_else(|| unsupported("an empty enum"))?,
        Ty::Option(t) => WType::option(wave_type(t)?),
        Ty::Result(r) => WType::result(
            r.ok.as_ref().map(wave_type).transpose()?,
            r.err.as_ref().map(wave_type).transpose()?,
        ),
        Ty::Flags(f) => WType::flags(f.flags.iter().map(String::as_str))
            .ok_or_else(|| unsupported("empty flags"))?,
        Ty::Future(None) => future_enum(),
        Ty::Future(Some(t)) => WType::option(wave_type(t)?),
        Ty::Stream(t) => WType::list(wave_type(stream_elem(t)?)?),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<bytes::Bytes, WaveError> {
    let bad = || WaveError(format!("handle `{s}` is not an even number of hex digits"));
    if s.len() % 2 != 0 {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<u8>, _>>()
        .map(Into::into)
}

fn mismatch(ty: &Ty, v: &Value) -> WaveError {
    WaveError(format!("expected {ty}, found a {} value", v.kind_name()))
}

fn list_to_wave(ty: &WType, elem: &Ty, v: &Value) -> Result<WValue, WaveError> {
    let items: Vec<WValue> = match v {
        Value::Bytes(b) => b.iter().map(|x| WValue::make_u8(*x)).collect(),
        Value::List(vs) => vs
            .iter()
            .map(|x| to_wave_value(elem, x))
            .collect::<Result<_, _>>()?,
        _ => return Err(mismatch(&Ty::List(Arc::new(elem.clone())), v)),
    };
    Ok(WValue::make_list(ty, items)?)
}

fn opt_to_wave(t: Option<&Ty>, v: Option<&Value>) -> Result<Option<WValue>, WaveError> {
    match (t, v) {
        (Some(t), Some(v)) => Ok(Some(to_wave_value(t, v)?)),
        _ => Ok(None),
    }
}

fn to_wave_value(ty: &Ty, v: &Value) -> Result<WValue, WaveError> {
    let wty = wave_type(ty)?;
    Ok(match (ty, v) {
        (Ty::Bool, Value::Bool(x)) => WValue::make_bool(*x),
        (Ty::S8, Value::S8(x)) => WValue::make_s8(*x),
        (Ty::S16, Value::S16(x)) => WValue::make_s16(*x),
        (Ty::S32, Value::S32(x)) => WValue::make_s32(*x),
        (Ty::S64, Value::S64(x)) => WValue::make_s64(*x),
        (Ty::U8, Value::U8(x)) => WValue::make_u8(*x),
        (Ty::U16, Value::U16(x)) => WValue::make_u16(*x),
        (Ty::U32, Value::U32(x)) => WValue::make_u32(*x),
        (Ty::U64, Value::U64(x)) => WValue::make_u64(*x),
        (Ty::F32, Value::F32(x)) => WValue::make_f32(*x),
        (Ty::F64, Value::F64(x)) => WValue::make_f64(*x),
        (Ty::Char, Value::Char(x)) => WValue::make_char(*x),
        (Ty::String, Value::String(s)) => WValue::make_string(s.into()),
        (Ty::Own(_) | Ty::Borrow(_), Value::Handle(h)) => WValue::make_string(hex(h).into()),
        (Ty::List(elem), _) => list_to_wave(&wty, elem, v)?,
        (Ty::Record(r), Value::Record(vs)) if vs.len() == r.fields.len() => {
            let fields = r
                .fields
                .iter()
                .zip(vs)
                .map(|((n, t), x)| Ok((n.as_str(), to_wave_value(t, x)?)))
                .collect::<Result<Vec<_>, WaveError>>()?;
            WValue::make_record(&wty, fields)?
        }
        (Ty::Tuple(ts), Value::Tuple(vs)) if vs.len() == ts.len() => {
            let items = ts
                .iter()
                .zip(vs)
                .map(|(t, x)| to_wave_value(t, x))
                .collect::<Result<Vec<_>, _>>()?;
            WValue::make_tuple(&wty, items)?
        }
        (Ty::Variant(vt), Value::Variant(i, p)) => {
            let (name, t) = vt.cases.get(*i as usize).ok_or_else(|| mismatch(ty, v))?;
            WValue::make_variant(&wty, name, opt_to_wave(t.as_ref(), p.as_deref())?)?
        }
        (Ty::Enum(e), Value::Enum(i)) => {
            let name = e.cases.get(*i as usize).ok_or_else(|| mismatch(ty, v))?;
            WValue::make_enum(&wty, name)?
        }
        (Ty::Option(t), Value::Option(o)) => {
            WValue::make_option(&wty, o.as_deref().map(|x| to_wave_value(t, x)).transpose()?)?
        }
        (Ty::Result(r), Value::Result(res)) => WValue::make_result(
            &wty,
            match res {
                Ok(p) => Ok(opt_to_wave(r.ok.as_ref(), p.as_deref())?),
                Err(p) => Err(opt_to_wave(r.err.as_ref(), p.as_deref())?),
            },
        )?,
        (Ty::Flags(f), Value::Flags(set)) => WValue::make_flags(
            &wty,
            set.iter()
                .filter_map(|i| f.flags.get(*i as usize).map(String::as_str)),
        )?,
        (Ty::Future(None), Value::Future(FutureValue::Pending)) => {
            WValue::make_enum(&wty, "pending")?
        }
        (Ty::Future(None), Value::Future(FutureValue::Ready(_))) => {
            WValue::make_enum(&wty, "ready")?
        }
        (Ty::Future(Some(_)), Value::Future(FutureValue::Pending)) => {
            WValue::make_option(&wty, None)?
        }
        (Ty::Future(Some(t)), Value::Future(FutureValue::Ready(p))) => {
            WValue::make_option(&wty, opt_to_wave(Some(t), p.as_deref())?)?
        }
        (Ty::Stream(_), Value::Stream(StreamValue::Pending)) => WValue::make_list(&wty, [])?,
        (Ty::Stream(t), Value::Stream(StreamValue::Ready(chunk))) => {
            list_to_wave(&wty, stream_elem(t)?, chunk)?
        }
        _ => return Err(mismatch(ty, v)),
    })
}

fn opt_from_wave(t: Option<&Ty>, w: Option<&WValue>) -> Result<Option<Box<Value>>, WaveError> {
    match (t, w) {
        (Some(t), Some(w)) => Ok(Some(Box::new(from_wave_value(t, w)?))),
        _ => Ok(None),
    }
}

fn list_from_wave(elem: &Ty, w: &WValue) -> Result<Value, WaveError> {
    if *elem == Ty::U8 {
        return Ok(Value::Bytes(
            w.unwrap_list()
                .map(|x| x.unwrap_u8())
                .collect::<Vec<u8>>()
                .into(),
        ));
    }
    Ok(Value::List(
        w.unwrap_list()
            .map(|x| from_wave_value(elem, &x))
            .collect::<Result<_, _>>()?,
    ))
}

/// Converts a parsed WAVE value, which `wasm-wave` has already checked against
/// `wave_type(ty)`, into the value model.
fn from_wave_value(ty: &Ty, w: &WValue) -> Result<Value, WaveError> {
    let index_of = |names: &[String], name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .map(|i| i as u32)
            .ok_or_else(|| WaveError(format!("unknown name `{name}`")))
    };
    Ok(match ty {
        Ty::Bool => Value::Bool(w.unwrap_bool()),
        Ty::S8 => Value::S8(w.unwrap_s8()),
        Ty::S16 => Value::S16(w.unwrap_s16()),
        Ty::S32 => Value::S32(w.unwrap_s32()),
        Ty::S64 => Value::S64(w.unwrap_s64()),
        Ty::U8 => Value::U8(w.unwrap_u8()),
        Ty::U16 => Value::U16(w.unwrap_u16()),
        Ty::U32 => Value::U32(w.unwrap_u32()),
        Ty::U64 => Value::U64(w.unwrap_u64()),
        Ty::F32 => Value::F32(w.unwrap_f32()),
        Ty::F64 => Value::F64(w.unwrap_f64()),
        Ty::Char => Value::Char(w.unwrap_char()),
        Ty::String => Value::String(w.unwrap_string().into_owned()),
        Ty::Own(_) | Ty::Borrow(_) => Value::Handle(unhex(&w.unwrap_string())?),
        Ty::List(elem) => list_from_wave(elem, w)?,
        Ty::Record(r) => Value::Record(
            r.fields
                .iter()
                .zip(w.unwrap_record())
                .map(|((_, t), (_, x))| from_wave_value(t, &x))
                .collect::<Result<_, _>>()?,
        ),
        Ty::Tuple(ts) => Value::Tuple(
            ts.iter()
                .zip(w.unwrap_tuple())
                .map(|(t, x)| from_wave_value(t, &x))
                .collect::<Result<_, _>>()?,
        ),
        Ty::Variant(vt) => {
            let (name, p) = w.unwrap_variant();
            let names: Vec<String> = vt.cases.iter().map(|(n, _)| n.clone()).collect();
            let i = index_of(&names, &name)?;
            let t = vt.cases[i as usize].1.as_ref();
            Value::Variant(i, opt_from_wave(t, p.as_deref())?)
        }
        Ty::Enum(e) => Value::Enum(index_of(&e.cases, &w.unwrap_enum())?),
        Ty::Option(t) => Value::Option(opt_from_wave(Some(t), w.unwrap_option().as_deref())?),
        Ty::Result(r) => Value::Result(match w.unwrap_result() {
            Ok(p) => Ok(opt_from_wave(r.ok.as_ref(), p.as_deref())?),
            Err(p) => Err(opt_from_wave(r.err.as_ref(), p.as_deref())?),
        }),
        Ty::Flags(f) => {
            let mut set = w
                .unwrap_flags()
                .map(|n| index_of(&f.flags, &n))
                .collect::<Result<Vec<_>, _>>()?;
            set.sort_unstable();
            set.dedup();
            Value::Flags(set)
        }
        Ty::Future(None) => Value::Future(if w.unwrap_enum() == "pending" {
            FutureValue::Pending
        } else {
            FutureValue::Ready(None)
        }),
        Ty::Future(Some(t)) => Value::Future(match w.unwrap_option() {
            None => FutureValue::Pending,
            Some(x) => FutureValue::Ready(Some(Box::new(from_wave_value(t, &x)?))),
        }),
        Ty::Stream(t) => match list_from_wave(stream_elem(t)?, w)? {
            Value::Bytes(b) if b.is_empty() => Value::Stream(StreamValue::Pending),
            Value::List(l) if l.is_empty() => Value::Stream(StreamValue::Pending),
            chunk => Value::Stream(StreamValue::Ready(Box::new(chunk))),
        },
    })
}

/// Parses WAVE text as a value of `ty`.
pub fn from_wave(ty: &Ty, text: &str) -> Result<Value, WaveError> {
    let wty = wave_type(ty)?;
    let w: WValue = wasm_wave::from_str(&wty, text)
        .map_err(|e| WaveError(format!("invalid WAVE for {ty}: {e}")))?;
    from_wave_value(ty, &w)
}

/// Writes `v`, a value of `ty`, as WAVE text.
pub fn to_wave(ty: &Ty, v: &Value) -> Result<String, WaveError> {
    let w = to_wave_value(ty, v)?;
    wasm_wave::to_string(&w).map_err(|e| WaveError(e.to_string()))
}
