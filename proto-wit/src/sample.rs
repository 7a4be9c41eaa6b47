//! Values generated from WIT types, so any function can be called (e.g. benchmarked) without
//! writing its arguments: deterministic, valid for the type, with strings and lists near a
//! chosen size in bytes.

use crate::value::{FutureValue, StreamValue};
use crate::{Ty, Value};

/// Most elements of a generated list of anything but bytes.
pub const MAX_SAMPLE_LIST: usize = 1 << 16; // bounds the work of huge --size values on rich types

/// A value of `ty` whose strings and byte lists take `size` bytes; other lists hold about
/// `size / 8` elements (at least one, at most [`MAX_SAMPLE_LIST`]). Numbers are small,
/// variants and enums take their first case, options are `some`, results `ok`, flags hold
/// the first flag, handles are the bytes `sample`, futures and streams are pending.
#[must_use]
pub fn sample(ty: &Ty, size: usize) -> Value {
    match ty {
        Ty::Bool => Value::Bool(true),
        Ty::S8 => Value::S8(-7),
        Ty::S16 => Value::S16(-7),
        Ty::S32 => Value::S32(-7),
        Ty::S64 => Value::S64(-7),
        Ty::U8 => Value::U8(7),
        Ty::U16 => Value::U16(7),
        Ty::U32 => Value::U32(7),
        Ty::U64 => Value::U64(7),
        Ty::F32 => Value::F32(1.5),
        Ty::F64 => Value::F64(1.5),
        Ty::Char => Value::Char('w'),
        Ty::String => Value::String("w".repeat(size)),
        Ty::List(elem) if **elem == Ty::U8 => Value::Bytes(vec![0xa5; size].into()),
        Ty::List(elem) => {
            let n = (size / 8).clamp(1, MAX_SAMPLE_LIST);
            let one = sample(elem, size / n);
            Value::List(vec![one; n])
        }
        Ty::Record(r) => Value::Record(r.fields.iter().map(|(_, t)| sample(t, size)).collect()),
        Ty::Tuple(ts) => Value::Tuple(ts.iter().map(|t| sample(t, size)).collect()),
        Ty::Variant(v) => Value::Variant(
            0,
            v.cases
                .first()
                .and_then(|(_, t)| t.as_ref())
                .map(|t| Box::new(sample(t, size))),
        ),
        Ty::Enum(_) => Value::Enum(0),
        Ty::Option(t) => Value::Option(Some(Box::new(sample(t, size)))),
        Ty::Result(r) => Value::Result(Ok(r.ok.as_ref().map(|t| Box::new(sample(t, size))))),
        Ty::Flags(f) => Value::Flags(if f.flags.is_empty() { vec![] } else { vec![0] }),
        Ty::Own(_) | Ty::Borrow(_) => Value::Handle(bytes::Bytes::from_static(b"sample")),
        Ty::Future(_) => Value::Future(FutureValue::Pending),
        Ty::Stream(_) => Value::Stream(StreamValue::Pending),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::*;
    use crate::codec::{decode_values, encode_values};
    use crate::testgen::any_ty;
    use crate::Limits;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the type, the sample encodes and decodes back to itself.
        #[test]
        fn samples_are_valid_for_their_type(ty in any_ty(), size in 0usize..64) {
            let v = sample(&ty, size);
            let labels = ["param v".to_owned()];
            let mut buf = BytesMut::new();
            encode_values(std::slice::from_ref(&ty), &labels, std::slice::from_ref(&v), &mut buf).unwrap();
            let back = decode_values(std::slice::from_ref(&ty), &labels, &buf, &Limits::default()).unwrap();
            prop_assert_eq!(&back[0], &v);
        }
    }

    #[test]
    fn strings_and_bytes_take_the_size() {
        assert_eq!(sample(&Ty::String, 5), Value::String("wwwww".to_owned()));
        let bytes = Ty::List(std::sync::Arc::new(Ty::U8));
        assert!(matches!(sample(&bytes, 1024), Value::Bytes(b) if b.len() == 1024));
    }
}
