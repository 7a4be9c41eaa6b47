//! Type-checked encoding of values into the wRPC value encoding.

use bytes::{BufMut as _, BytesMut};

use super::error::{EncodeError, EncodeErrorKind as K, PathSeg};
use super::leb::{put_sleb, put_uleb};
use crate::ty::Ty;
use crate::value::{FutureValue, StreamValue, Value};

type Res = Result<(), EncodeError>;

fn mismatch(ty: &Ty, v: &Value) -> EncodeError {
    EncodeError::new(K::TypeMismatch {
        expected: ty.to_string(),
        found: v.kind_name(),
    })
}

fn put_len(dst: &mut BytesMut, n: usize) -> Res {
    let n = u32::try_from(n).map_err(|_| EncodeError::new(K::TooLong(n)))?;
    put_uleb(dst, n.into());
    Ok(())
}

fn put_bytes(dst: &mut BytesMut, b: &[u8]) -> Res {
    put_len(dst, b.len())?;
    dst.put_slice(b);
    Ok(())
}

/// Encodes the values of a call's parameters (or results), in order.
///
/// `labels` name the top-level values in error paths.
pub fn encode_values(tys: &[Ty], labels: &[String], values: &[Value], dst: &mut BytesMut) -> Res {
    if tys.len() != values.len() {
        return Err(EncodeError::new(K::Arity {
            expected: tys.len(),
            found: values.len(),
        }));
    }
    for (i, (ty, v)) in tys.iter().zip(values).enumerate() {
        encode_value(ty, v, dst).map_err(|e| e.within(PathSeg::top(labels, i)))?;
    }
    Ok(())
}

/// Encodes one value of type `ty`, checking that it is a value of that type.
pub fn encode_value(ty: &Ty, v: &Value, dst: &mut BytesMut) -> Res {
    match (ty, v) {
        (Ty::Bool, Value::Bool(b)) => dst.put_u8(u8::from(*b)),
        (Ty::S8, Value::S8(x)) => dst.put_i8(*x),
        (Ty::U8, Value::U8(x)) => dst.put_u8(*x),
        (Ty::S16, Value::S16(x)) => put_sleb(dst, (*x).into()),
        (Ty::S32, Value::S32(x)) => put_sleb(dst, (*x).into()),
        (Ty::S64, Value::S64(x)) => put_sleb(dst, *x),
        (Ty::U16, Value::U16(x)) => put_uleb(dst, (*x).into()),
        (Ty::U32, Value::U32(x)) => put_uleb(dst, (*x).into()),
        (Ty::U64, Value::U64(x)) => put_uleb(dst, *x),
        (Ty::F32, Value::F32(x)) => dst.put_f32_le(canonical_nan32(*x)),
        (Ty::F64, Value::F64(x)) => dst.put_f64_le(canonical_nan64(*x)),
        (Ty::Char, Value::Char(c)) => {
            let mut b = [0u8; 4];
            dst.put_slice(c.encode_utf8(&mut b).as_bytes());
        }
        (Ty::String, Value::String(s)) => put_bytes(dst, s.as_bytes())?,
        (Ty::List(elem), Value::Bytes(b)) if **elem == Ty::U8 => put_bytes(dst, b)?,
        (Ty::List(elem), Value::List(vs)) => encode_list(elem, vs, dst)?,
        (Ty::Record(r), Value::Record(vs)) => {
            arity(r.fields.len(), vs.len())?;
            for ((name, ty), v) in r.fields.iter().zip(vs) {
                encode_value(ty, v, dst).map_err(|e| e.within(PathSeg::Field(name.clone())))?;
            }
        }
        (Ty::Tuple(tys), Value::Tuple(vs)) => {
            arity(tys.len(), vs.len())?;
            for (i, (ty, v)) in tys.iter().zip(vs).enumerate() {
                encode_value(ty, v, dst).map_err(|e| e.within(PathSeg::Index(i as u64)))?;
            }
        }
        (Ty::Variant(vt), Value::Variant(disc, payload)) => {
            let (name, case_ty) = vt.cases.get(*disc as usize).ok_or_else(|| {
                EncodeError::new(K::BadIndex {
                    what: "variant case",
                    index: *disc,
                    count: vt.cases.len(),
                })
            })?;
            put_uleb(dst, (*disc).into());
            encode_payload(case_ty.as_ref(), payload.as_deref(), dst)
                .map_err(|e| e.within(PathSeg::Case(name.clone())))?;
        }
        (Ty::Enum(e), Value::Enum(disc)) => {
            if *disc as usize >= e.cases.len() {
                return Err(EncodeError::new(K::BadIndex {
                    what: "enum case",
                    index: *disc,
                    count: e.cases.len(),
                }));
            }
            put_uleb(dst, (*disc).into());
        }
        (Ty::Option(_), Value::Option(None)) => dst.put_u8(0),
        (Ty::Option(t), Value::Option(Some(v))) => {
            dst.put_u8(1);
            encode_value(t, v, dst).map_err(|e| e.within(PathSeg::Some))?;
        }
        (Ty::Result(r), Value::Result(Ok(p))) => {
            dst.put_u8(0);
            encode_payload(r.ok.as_ref(), p.as_deref(), dst).map_err(|e| e.within(PathSeg::Ok))?;
        }
        (Ty::Result(r), Value::Result(Err(p))) => {
            dst.put_u8(1);
            encode_payload(r.err.as_ref(), p.as_deref(), dst)
                .map_err(|e| e.within(PathSeg::Err))?;
        }
        (Ty::Flags(f), Value::Flags(set)) => {
            let mut bits = vec![0u8; f.byte_len()];
            for &i in set {
                if i as usize >= f.flags.len() {
                    return Err(EncodeError::new(K::BadIndex {
                        what: "flag",
                        index: i,
                        count: f.flags.len(),
                    }));
                }
                bits[i as usize / 8] |= 1 << (i % 8);
            }
            dst.put_slice(&bits);
        }
        (Ty::Own(_) | Ty::Borrow(_), Value::Handle(h)) => put_bytes(dst, h)?,
        (Ty::Future(_), Value::Future(FutureValue::Pending)) => dst.put_u8(0),
        (Ty::Future(t), Value::Future(FutureValue::Ready(p))) => {
            dst.put_u8(1);
            encode_payload(t.as_deref(), p.as_deref(), dst)
                .map_err(|e| e.within(PathSeg::Ready))?;
        }
        (Ty::Stream(_), Value::Stream(StreamValue::Pending)) => dst.put_u8(0),
        (Ty::Stream(t), Value::Stream(StreamValue::Ready(chunk))) => {
            let elem = t.as_deref().cloned().unwrap_or(Ty::Tuple([].into()));
            match (&elem, &**chunk) {
                (Ty::U8, Value::Bytes(b)) => put_bytes(dst, b)?,
                (_, Value::List(vs)) => encode_list(&elem, vs, dst)?,
                _ => return Err(mismatch(ty, v)),
            }
        }
        _ => return Err(mismatch(ty, v)),
    }
    Ok(())
}

/// The one NaN the component model (and wRPC 0.29) writes: payload bits are not observable.
fn canonical_nan32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        x
    }
}

/// See [`canonical_nan32`].
fn canonical_nan64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        x
    }
}

fn arity(expected: usize, found: usize) -> Res {
    if expected == found {
        Ok(())
    } else {
        Err(EncodeError::new(K::Arity { expected, found }))
    }
}

fn encode_list(elem: &Ty, vs: &[Value], dst: &mut BytesMut) -> Res {
    put_len(dst, vs.len())?;
    dst.reserve(vs.len());
    for (i, v) in vs.iter().enumerate() {
        encode_value(elem, v, dst).map_err(|e| e.within(PathSeg::Index(i as u64)))?;
    }
    Ok(())
}

fn encode_payload(ty: Option<&Ty>, v: Option<&Value>, dst: &mut BytesMut) -> Res {
    match (ty, v) {
        (Some(ty), Some(v)) => encode_value(ty, v, dst),
        (None, None) => Ok(()),
        (Some(_), None) => Err(EncodeError::new(K::Payload("missing"))),
        (None, Some(_)) => Err(EncodeError::new(K::Payload(
            "given where the type has none",
        ))),
    }
}
