//! Between the codec's values and wasmtime's: names come from the type, which the codec has
//! already checked the value against.

use bytes::Bytes;
use wasmtime::component::{ResourceAny, Val};
use witmesh_proto::value::{FutureValue, StreamValue};
use witmesh_proto::{Ty, Value};

/// A value that cannot cross into or out of a component in this host.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConvertError {
    /// Resource handles, futures and streams are not served yet.
    #[error("{0} values cannot cross the component boundary in witmesh yet")]
    Unsupported(&'static str),
    /// A resource handle the component or the provider passed is not valid here.
    #[error("resource `{resource}`: {reason}")]
    Resource {
        /// The resource type.
        resource: String,
        /// What is wrong with the handle.
        reason: String,
    },
    /// The value does not match its type (a bug in the caller or the component).
    #[error("expected {expected}, found {found}")]
    Mismatch {
        /// The WIT type.
        expected: String,
        /// What was found.
        found: String,
    },
}

/// Turns resources into wRPC handles and back, for a call that passes them.
pub trait Handles {
    /// The wire handle of the resource `r` of type `ty` (an `own` moves it out).
    fn lower(&mut self, ty: &Ty, r: ResourceAny) -> Result<Value, ConvertError>;
    /// The resource for the wire handle `bytes` of type `ty`.
    fn lift(&mut self, ty: &Ty, bytes: &Bytes) -> Result<Val, ConvertError>;
}

/// For values that never hold handles: any handle is unsupported.
pub struct NoHandles;

impl Handles for NoHandles {
    fn lower(&mut self, _: &Ty, _: ResourceAny) -> Result<Value, ConvertError> {
        Err(ConvertError::Unsupported("resource handle"))
    }
    fn lift(&mut self, _: &Ty, _: &Bytes) -> Result<Val, ConvertError> {
        Err(ConvertError::Unsupported("resource handle"))
    }
}

fn mismatch(ty: &Ty, found: impl std::fmt::Debug) -> ConvertError {
    let found: String = format!("{found:?}").chars().take(80).collect();
    ConvertError::Mismatch {
        expected: ty.to_string(),
        found,
    }
}

fn boxed(
    ty: Option<&Ty>,
    v: Option<&Value>,
    h: &mut dyn Handles,
) -> Result<Option<Box<Val>>, ConvertError> {
    match (ty, v) {
        (Some(t), Some(v)) => Ok(Some(Box::new(to_val_with(t, v, h)?))),
        _ => Ok(None),
    }
}

/// Codec values of the types `tys` as wasmtime values (a call's parameters or results),
/// handles made into resources by `h`.
pub fn to_vals(tys: &[Ty], vs: &[Value], h: &mut dyn Handles) -> Result<Vec<Val>, ConvertError> {
    tys.iter()
        .zip(vs)
        .map(|(t, v)| to_val_with(t, v, h))
        .collect()
}

/// Wasmtime values as codec values of the types `tys`, resources made into handles by `h`.
pub fn from_vals(tys: &[Ty], vs: &[Val], h: &mut dyn Handles) -> Result<Vec<Value>, ConvertError> {
    tys.iter()
        .zip(vs)
        .map(|(t, v)| from_val_with(t, v, h))
        .collect()
}

/// A codec value as a wasmtime value, with handles made into resources by `h`.
pub fn to_val_with(ty: &Ty, v: &Value, h: &mut dyn Handles) -> Result<Val, ConvertError> {
    Ok(match (ty, v) {
        (_, Value::Bool(x)) => Val::Bool(*x),
        (_, Value::S8(x)) => Val::S8(*x),
        (_, Value::S16(x)) => Val::S16(*x),
        (_, Value::S32(x)) => Val::S32(*x),
        (_, Value::S64(x)) => Val::S64(*x),
        (_, Value::U8(x)) => Val::U8(*x),
        (_, Value::U16(x)) => Val::U16(*x),
        (_, Value::U32(x)) => Val::U32(*x),
        (_, Value::U64(x)) => Val::U64(*x),
        (_, Value::F32(x)) => Val::Float32(*x),
        (_, Value::F64(x)) => Val::Float64(*x),
        (_, Value::Char(x)) => Val::Char(*x),
        (_, Value::String(s)) => Val::String(s.clone()),
        (_, Value::Bytes(b)) => Val::List(b.iter().map(|x| Val::U8(*x)).collect()),
        (Ty::List(t), Value::List(vs)) => Val::List(
            vs.iter()
                .map(|v| to_val_with(t, v, h))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Record(r), Value::Record(vs)) => Val::Record(
            r.fields
                .iter()
                .zip(vs)
                .map(|((n, t), v)| Ok((n.clone(), to_val_with(t, v, h)?)))
                .collect::<Result<_, ConvertError>>()?,
        ),
        (Ty::Tuple(ts), Value::Tuple(vs)) => Val::Tuple(
            ts.iter()
                .zip(vs)
                .map(|(t, v)| to_val_with(t, v, h))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Variant(vt), Value::Variant(i, p)) => {
            let (name, t) = vt.cases.get(*i as usize).ok_or_else(|| mismatch(ty, v))?;
            Val::Variant(name.clone(), boxed(t.as_ref(), p.as_deref(), h)?)
        }
        (Ty::Enum(e), Value::Enum(i)) => Val::Enum(
            e.cases
                .get(*i as usize)
                .ok_or_else(|| mismatch(ty, v))?
                .clone(),
        ),
        (Ty::Option(t), Value::Option(o)) => Val::Option(boxed(Some(t), o.as_deref(), h)?),
        (Ty::Result(r), Value::Result(Ok(p))) => {
            Val::Result(Ok(boxed(r.ok.as_ref(), p.as_deref(), h)?))
        }
        (Ty::Result(r), Value::Result(Err(p))) => {
            Val::Result(Err(boxed(r.err.as_ref(), p.as_deref(), h)?))
        }
        (Ty::Flags(f), Value::Flags(set)) => Val::Flags(
            set.iter()
                .filter_map(|i| f.flags.get(*i as usize).cloned())
                .collect(),
        ),
        (Ty::Own(_) | Ty::Borrow(_), Value::Handle(bytes)) => h.lift(ty, bytes)?,
        (_, Value::Future(FutureValue::Pending | FutureValue::Ready(_))) => {
            return Err(ConvertError::Unsupported("future"))
        }
        (_, Value::Stream(StreamValue::Pending | StreamValue::Ready(_))) => {
            return Err(ConvertError::Unsupported("stream"))
        }
        _ => return Err(mismatch(ty, v)),
    })
}

fn unboxed(
    ty: Option<&Ty>,
    v: Option<&Val>,
    h: &mut dyn Handles,
) -> Result<Option<Box<Value>>, ConvertError> {
    match (ty, v) {
        (Some(t), Some(v)) => Ok(Some(Box::new(from_val_with(t, v, h)?))),
        (None, None) => Ok(None),
        _ => Err(ConvertError::Mismatch {
            expected: ty.map_or_else(|| "no payload".to_owned(), ToString::to_string),
            found: format!("{v:?}"),
        }),
    }
}

fn index_of(names: impl Iterator<Item = impl AsRef<str>>, name: &str) -> Option<u32> {
    names
        .enumerate()
        .find(|(_, n)| n.as_ref() == name)
        .map(|(i, _)| i as u32)
}

/// A wasmtime value as a codec value of `ty`, with resources made into handles by `h`.
pub fn from_val_with(ty: &Ty, v: &Val, h: &mut dyn Handles) -> Result<Value, ConvertError> {
    Ok(match (ty, v) {
        (Ty::Bool, Val::Bool(x)) => Value::Bool(*x),
        (Ty::S8, Val::S8(x)) => Value::S8(*x),
        (Ty::S16, Val::S16(x)) => Value::S16(*x),
        (Ty::S32, Val::S32(x)) => Value::S32(*x),
        (Ty::S64, Val::S64(x)) => Value::S64(*x),
        (Ty::U8, Val::U8(x)) => Value::U8(*x),
        (Ty::U16, Val::U16(x)) => Value::U16(*x),
        (Ty::U32, Val::U32(x)) => Value::U32(*x),
        (Ty::U64, Val::U64(x)) => Value::U64(*x),
        (Ty::F32, Val::Float32(x)) => Value::F32(*x),
        (Ty::F64, Val::Float64(x)) => Value::F64(*x),
        (Ty::Char, Val::Char(x)) => Value::Char(*x),
        (Ty::String, Val::String(s)) => Value::String(s.clone()),
        (Ty::List(t), Val::List(vs)) if **t == Ty::U8 => Value::Bytes(
            vs.iter()
                .map(|v| match v {
                    Val::U8(b) => Ok(*b),
                    other => Err(mismatch(t, other)),
                })
                .collect::<Result<Vec<u8>, _>>()?
                .into(),
        ),
        (Ty::List(t), Val::List(vs)) => Value::List(
            vs.iter()
                .map(|v| from_val_with(t, v, h))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Record(r), Val::Record(fs)) if fs.len() == r.fields.len() => Value::Record(
            r.fields
                .iter()
                .zip(fs)
                .map(|((_, t), (_, v))| from_val_with(t, v, h))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Tuple(ts), Val::Tuple(vs)) if vs.len() == ts.len() => Value::Tuple(
            ts.iter()
                .zip(vs)
                .map(|(t, v)| from_val_with(t, v, h))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Variant(vt), Val::Variant(name, p)) => {
            let i =
                index_of(vt.cases.iter().map(|(n, _)| n), name).ok_or_else(|| mismatch(ty, v))?;
            Value::Variant(
                i,
                unboxed(vt.cases[i as usize].1.as_ref(), p.as_deref(), h)?,
            )
        }
        (Ty::Enum(e), Val::Enum(name)) => {
            Value::Enum(index_of(e.cases.iter(), name).ok_or_else(|| mismatch(ty, v))?)
        }
        (Ty::Option(t), Val::Option(o)) => {
            Value::Option(unboxed(o.as_ref().map(|_| &**t), o.as_deref(), h)?)
        }
        (Ty::Result(r), Val::Result(Ok(p))) => {
            Value::Result(Ok(unboxed(r.ok.as_ref(), p.as_deref(), h)?))
        }
        (Ty::Result(r), Val::Result(Err(p))) => {
            Value::Result(Err(unboxed(r.err.as_ref(), p.as_deref(), h)?))
        }
        (Ty::Flags(f), Val::Flags(names)) => {
            let mut set = names
                .iter()
                .map(|n| index_of(f.flags.iter(), n).ok_or_else(|| mismatch(ty, v)))
                .collect::<Result<Vec<_>, _>>()?;
            set.sort_unstable();
            Value::Flags(set)
        }
        (Ty::Own(_) | Ty::Borrow(_), Val::Resource(r)) => h.lower(ty, *r)?,
        (Ty::Future(_), _) => return Err(ConvertError::Unsupported("future")),
        (Ty::Stream(_), _) => return Err(ConvertError::Unsupported("stream")),
        _ => return Err(mismatch(ty, v)),
    })
}
