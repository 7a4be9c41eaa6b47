//! Type-driven decoding of wRPC values, from whole buffers or from bytes that arrive in pieces.

use std::sync::Arc;

use bytes::{Buf as _, Bytes, BytesMut};

use super::error::{DecodeError, DecodeErrorKind as K, PathSeg};
use super::limits::{Limits, MAX_HANDLE_BYTES};
use crate::ty::{EnumTy, FlagsTy, RecordTy, Ty, VariantTy};
use crate::value::{FutureValue, StreamValue, Value};

type Res<T> = Result<T, DecodeError>;

/// Reads values from one contiguous slice; fails with `Truncated` when the slice ends early.
struct Cursor<'a> {
    buf: &'a [u8],
    /// The same bytes, shared, when the caller has them as `Bytes`: byte lists and handles are
    /// then sliced out without copying.
    shared: Option<&'a Bytes>,
    pos: usize,
    depth: u32,
    limits: &'a Limits,
}

fn err<T>(kind: K) -> Res<T> {
    Err(DecodeError::new(kind))
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], limits: &'a Limits) -> Self {
        Cursor {
            buf,
            shared: None,
            pos: 0,
            depth: 0,
            limits,
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        let rest = self.buf.len() - self.pos;
        if rest < n {
            return err(K::Truncated { needed: n - rest });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn byte(&mut self) -> Res<u8> {
        match self.buf.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => err(K::Truncated { needed: 1 }),
        }
    }

    /// Unsigned LEB128 of at most `bits` bits, accepting non-minimal encodings as upstream does.
    fn uleb(&mut self, bits: u32, ty: &'static str) -> Res<u64> {
        let max_bytes = bits.div_ceil(7);
        let mut result = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            let low = u64::from(b & 0x7f);
            let shift = 7 * i;
            if i == max_bytes - 1 {
                // The last byte may carry only the bits the type has left, and no continuation.
                if b & 0x80 != 0 || low >> (bits - shift) != 0 {
                    return err(K::LebOverflow { ty });
                }
            }
            result |= low << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        err(K::LebOverflow { ty })
    }

    /// Signed LEB128 of at most `bits` bits.
    fn sleb(&mut self, bits: u32, ty: &'static str) -> Res<i64> {
        let max_bytes = bits.div_ceil(7);
        let mut result = 0i64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            let shift = 7 * i;
            let last = i == max_bytes - 1;
            if last && bits == 64 {
                // Bit 63 plus sign extension: all six upper bits must equal bit 63.
                if b & 0x80 != 0 || !(b & 0x7f == 0 || b & 0x7f == 0x7f) {
                    return err(K::LebOverflow { ty });
                }
                result |= i64::from(b & 0x7f) << shift;
                return Ok(result);
            }
            result |= i64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                let end = shift + 7;
                if end < 64 && b & 0x40 != 0 {
                    result |= -1i64 << end;
                }
                let half = 1i64 << (bits - 1).min(62);
                if bits < 64 && (result < -half || result >= half) {
                    return err(K::LebOverflow { ty });
                }
                return Ok(result);
            }
            if last {
                break;
            }
        }
        err(K::LebOverflow { ty })
    }

    fn len_u32(&mut self) -> Res<u32> {
        // A u32 LEB128 fits in u32 by construction of `uleb`.
        Ok(self.uleb(32, "u32")? as u32)
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return err(K::TooDeep {
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }

    fn bounded_len(&mut self, what: &'static str, max: u32) -> Res<usize> {
        let n = self.len_u32()?;
        if n > max {
            return err(K::TooLong {
                what,
                len: n.into(),
                max: max.into(),
            });
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Res<Bytes> {
        let n = self.bounded_len("byte list length", self.limits.max_string_bytes)?;
        self.slice(n)
    }

    fn slice(&mut self, n: usize) -> Res<Bytes> {
        let start = self.pos;
        let s = self.take(n)?;
        Ok(match self.shared {
            Some(b) => b.slice(start..start + n),
            None => Bytes::copy_from_slice(s),
        })
    }

    fn value(&mut self, ty: &Ty) -> Res<Value> {
        Ok(match ty {
            Ty::Bool => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                value => {
                    return err(K::BadTag {
                        what: "bool",
                        value,
                    })
                }
            },
            Ty::S8 => Value::S8(self.byte()? as i8),
            Ty::U8 => Value::U8(self.byte()?),
            Ty::S16 => Value::S16(self.sleb(16, "s16")? as i16),
            Ty::U16 => Value::U16(self.uleb(16, "u16")? as u16),
            Ty::S32 => Value::S32(self.sleb(32, "s32")? as i32),
            Ty::U32 => Value::U32(self.uleb(32, "u32")? as u32),
            Ty::S64 => Value::S64(self.sleb(64, "s64")?),
            Ty::U64 => Value::U64(self.uleb(64, "u64")?),
            Ty::F32 => {
                let b = self.take(4)?;
                Value::F32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            Ty::F64 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(self.take(8)?);
                Value::F64(f64::from_le_bytes(a))
            }
            Ty::Char => Value::Char(self.char()?),
            Ty::String => {
                let n = self.bounded_len("string length", self.limits.max_string_bytes)?;
                let s = std::str::from_utf8(self.take(n)?)
                    .map_err(|_| DecodeError::new(K::InvalidUtf8 { what: "string" }))?;
                Value::String(s.to_owned())
            }
            Ty::List(elem) if **elem == Ty::U8 => Value::Bytes(self.bytes()?),
            Ty::List(elem) => Value::List(self.list(elem)?),
            Ty::Record(r) => Value::Record(self.record(r)?),
            Ty::Tuple(tys) => Value::Tuple(self.tuple(tys)?),
            Ty::Variant(v) => self.variant(v)?,
            Ty::Enum(e) => self.enum_case(e)?,
            Ty::Option(t) => match self.byte()? {
                0 => Value::Option(None),
                1 => Value::Option(Some(Box::new(
                    self.nested(t).map_err(|e| e.within(PathSeg::Some))?,
                ))),
                value => {
                    return err(K::BadTag {
                        what: "option",
                        value,
                    })
                }
            },
            Ty::Result(r) => match self.byte()? {
                0 => Value::Result(Ok(self
                    .payload(r.ok.as_ref())
                    .map_err(|e| e.within(PathSeg::Ok))?)),
                1 => Value::Result(Err(self
                    .payload(r.err.as_ref())
                    .map_err(|e| e.within(PathSeg::Err))?)),
                value => {
                    return err(K::BadTag {
                        what: "result",
                        value,
                    })
                }
            },
            Ty::Flags(f) => Value::Flags(self.flags(f)?),
            Ty::Own(_) | Ty::Borrow(_) => {
                let n = self.bounded_len("handle length", MAX_HANDLE_BYTES)?;
                Value::Handle(self.slice(n)?)
            }
            Ty::Future(t) => match self.byte()? {
                0 => Value::Future(FutureValue::Pending),
                1 => Value::Future(FutureValue::Ready(
                    self.payload(t.as_deref())
                        .map_err(|e| e.within(PathSeg::Ready))?,
                )),
                value => {
                    return err(K::BadTag {
                        what: "future",
                        value,
                    })
                }
            },
            Ty::Stream(t) => self.stream(t.as_deref())?,
        })
    }

    fn record(&mut self, r: &RecordTy) -> Res<Vec<Value>> {
        self.enter()?;
        let mut fields = Vec::with_capacity(r.fields.len());
        for (name, ty) in &r.fields {
            fields.push(
                self.value(ty)
                    .map_err(|e| e.within(PathSeg::Field(name.clone())))?,
            );
        }
        self.depth -= 1;
        Ok(fields)
    }

    fn tuple(&mut self, tys: &[Ty]) -> Res<Vec<Value>> {
        self.enter()?;
        let mut vs = Vec::with_capacity(tys.len());
        for (i, ty) in tys.iter().enumerate() {
            vs.push(
                self.value(ty)
                    .map_err(|e| e.within(PathSeg::Index(i as u64)))?,
            );
        }
        self.depth -= 1;
        Ok(vs)
    }

    fn variant(&mut self, v: &VariantTy) -> Res<Value> {
        let disc = self.len_u32()?;
        let Some((name, case_ty)) = v.cases.get(disc as usize) else {
            return err(K::BadDiscriminant {
                what: "variant",
                value: disc,
                count: v.cases.len(),
            });
        };
        let payload = match case_ty {
            Some(ty) => Some(Box::new(
                self.nested(ty)
                    .map_err(|e| e.within(PathSeg::Case(name.clone())))?,
            )),
            None => None,
        };
        Ok(Value::Variant(disc, payload))
    }

    fn enum_case(&mut self, e: &EnumTy) -> Res<Value> {
        let disc = self.len_u32()?;
        if disc as usize >= e.cases.len() {
            return err(K::BadDiscriminant {
                what: "enum",
                value: disc,
                count: e.cases.len(),
            });
        }
        Ok(Value::Enum(disc))
    }

    fn flags(&mut self, f: &FlagsTy) -> Res<Vec<u32>> {
        let bytes = self.take(f.byte_len())?;
        let n = f.flags.len();
        if n % 8 != 0 {
            if let Some(last) = bytes.last() {
                if last >> (n % 8) != 0 {
                    return err(K::UnknownFlags { flags: n });
                }
            }
        }
        let mut set = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            let mut b = *b;
            while b != 0 {
                let bit = b.trailing_zeros();
                set.push(i as u32 * 8 + bit);
                b &= b - 1;
            }
        }
        Ok(set)
    }

    /// A stream's inline chunk: empty means the elements come later on its async path.
    fn stream(&mut self, elem: Option<&Ty>) -> Res<Value> {
        let elem = elem.cloned().unwrap_or(Ty::Tuple(Arc::from([])));
        let chunk = if elem == Ty::U8 {
            Value::Bytes(self.bytes()?)
        } else {
            Value::List(self.list(&elem)?)
        };
        Ok(match &chunk {
            Value::Bytes(b) if b.is_empty() => Value::Stream(StreamValue::Pending),
            Value::List(l) if l.is_empty() => Value::Stream(StreamValue::Pending),
            _ => Value::Stream(StreamValue::Ready(Box::new(chunk))),
        })
    }

    fn nested(&mut self, ty: &Ty) -> Res<Value> {
        self.enter()?;
        let v = self.value(ty)?;
        self.depth -= 1;
        Ok(v)
    }

    fn payload(&mut self, ty: Option<&Ty>) -> Res<Option<Box<Value>>> {
        ty.map(|ty| self.nested(ty).map(Box::new)).transpose()
    }

    fn list(&mut self, elem: &Ty) -> Res<Vec<Value>> {
        let n = self.bounded_len("list length", self.limits.max_list_len)?;
        self.enter()?;
        // Every element but `tuple<>` takes at least one byte, so the bytes at hand bound what
        // a truthful length can need; a lying length cannot make us allocate more.
        let mut vs = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for i in 0..n {
            vs.push(
                self.value(elem)
                    .map_err(|e| e.within(PathSeg::Index(i as u64)))?,
            );
        }
        self.depth -= 1;
        Ok(vs)
    }

    fn char(&mut self) -> Res<char> {
        let first = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| DecodeError::new(K::Truncated { needed: 1 }))?;
        let len = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return err(K::InvalidUtf8 { what: "char" }),
        };
        let s = std::str::from_utf8(self.take(len)?)
            .map_err(|_| DecodeError::new(K::InvalidUtf8 { what: "char" }))?;
        s.chars()
            .next()
            .ok_or_else(|| DecodeError::new(K::InvalidUtf8 { what: "char" }))
    }
}

/// Decodes a whole buffer holding exactly the values of `tys` (a call's parameters or results).
///
/// `labels` name the top-level values in error paths (`param name`, `result`). Byte lists are
/// copied out of `bytes`; [`decode_values_shared`] avoids that.
pub fn decode_values(
    tys: &[Ty],
    labels: &[String],
    bytes: &[u8],
    limits: &Limits,
) -> Result<Vec<Value>, DecodeError> {
    decode_whole(Cursor::new(bytes, limits), tys, labels)
}

/// Like [`decode_values`], but byte lists and handles share `bytes` instead of copying.
pub fn decode_values_shared(
    tys: &[Ty],
    labels: &[String],
    bytes: &Bytes,
    limits: &Limits,
) -> Result<Vec<Value>, DecodeError> {
    let mut c = Cursor::new(bytes, limits);
    c.shared = Some(bytes);
    decode_whole(c, tys, labels)
}

fn decode_whole(
    mut c: Cursor<'_>,
    tys: &[Ty],
    labels: &[String],
) -> Result<Vec<Value>, DecodeError> {
    let limits = c.limits;
    if c.buf.len() > limits.max_call_bytes {
        return Err(DecodeError::new(K::CallTooLarge {
            max: limits.max_call_bytes,
        }));
    }
    let mut vs = Vec::with_capacity(tys.len());
    for (i, ty) in tys.iter().enumerate() {
        vs.push(c.value(ty).map_err(|e| e.within(PathSeg::top(labels, i)))?);
    }
    let rest = c.buf.len() - c.pos;
    if rest > 0 {
        return Err(DecodeError::new(K::TrailingBytes(rest)));
    }
    Ok(vs)
}

/// Puts the bytes of `frozen` after the first `consumed` back into the (empty) `buf`.
fn restore(buf: &mut BytesMut, mut frozen: Bytes, consumed: usize) {
    frozen.advance(consumed);
    match frozen.try_into_mut() {
        Ok(rest) => *buf = rest,
        Err(rest) => buf.extend_from_slice(&rest),
    }
}

/// Decodes a call's values from bytes that arrive in pieces.
///
/// Each completed top-level value is consumed from the buffer and kept; a value cut off by the
/// end of the buffer is retried from its start once at least as many bytes as it was shown to
/// need have arrived, so a large value is not re-parsed on every small piece.
#[derive(Debug)]
pub struct ValuesDecoder {
    tys: Arc<[Ty]>,
    labels: Arc<[String]>,
    limits: Limits,
    done: Vec<Value>,
    consumed: usize,
    min_len: usize,
    pending: Option<DecodeError>,
}

impl ValuesDecoder {
    /// A decoder for values of `tys`, labelled by `labels` in errors.
    #[must_use]
    pub fn new(tys: Arc<[Ty]>, labels: Arc<[String]>, limits: Limits) -> Self {
        ValuesDecoder {
            done: Vec::with_capacity(tys.len()),
            tys,
            labels,
            limits,
            consumed: 0,
            min_len: 0,
            pending: None,
        }
    }

    /// Decodes from the front of `buf`, consuming what it decodes.
    ///
    /// Returns `Ok(Some(values))` once every value is complete, `Ok(None)` when more bytes are
    /// needed. Bytes after the last value stay in `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Value>>, DecodeError> {
        let max = self.limits.max_call_bytes;
        while self.done.len() < self.tys.len() {
            let i = self.done.len();
            if buf.len() < self.min_len {
                return self.wait(buf.len());
            }
            // Decode from a frozen view so byte lists share the buffer; what is not consumed
            // goes back (without copying when nothing kept a reference to it).
            let frozen = buf.split().freeze();
            let mut c = Cursor::new(&frozen, &self.limits);
            c.shared = Some(&frozen);
            let outcome = c.value(&self.tys[i]);
            let n = if outcome.is_ok() { c.pos } else { 0 };
            restore(buf, frozen, n);
            match outcome {
                Ok(v) => {
                    self.consumed += n;
                    if self.consumed > max {
                        return Err(DecodeError::new(K::CallTooLarge { max }));
                    }
                    self.done.push(v);
                    self.min_len = 0;
                    self.pending = None;
                }
                Err(e) => {
                    let e = e.within(PathSeg::top(&self.labels, i));
                    let K::Truncated { needed } = e.kind else {
                        return Err(e);
                    };
                    self.min_len = buf.len() + needed;
                    self.pending = Some(e);
                    return self.wait(buf.len());
                }
            }
        }
        Ok(Some(std::mem::take(&mut self.done)))
    }

    fn wait(&self, have: usize) -> Result<Option<Vec<Value>>, DecodeError> {
        let max = self.limits.max_call_bytes;
        if self.consumed + have.max(self.min_len) > max {
            return Err(DecodeError::new(K::CallTooLarge { max }));
        }
        Ok(None)
    }

    /// The error to report when the input ends before the values are complete.
    #[must_use]
    pub fn truncated(&self) -> DecodeError {
        self.pending.clone().unwrap_or_else(|| {
            DecodeError::new(K::Truncated { needed: 1 })
                .within(PathSeg::top(&self.labels, self.done.len()))
        })
    }
}
