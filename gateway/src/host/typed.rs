//! Typed calls for functions that carry `list<u8>`: wasmtime's dynamic API holds such a list
//! as one `Val` per byte, its typed API copies it whole as [`Bytes`]. Typed functions need
//! their Rust types at compile time, so this module names a fixed set of signatures (the parts
//! below, up to three parameters); an export matching one of them is called typed
//! ([`export_call`]) and a forwarded import linked typed (`link.rs`), chosen once when the
//! component loads ([`pick`]); every other function takes the dynamic path.
//! Records, variants, enums and flags are not among the parts: wasmtime checks their names
//! against the Rust type's, which a host that learns types at run time cannot supply.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use wasmtime::component::{ComponentNamedList, ComponentType, Lift, Lower};
use witmesh_proto::{Func, Ty, Value};

use super::invoke::{classify, CallError, Warm};
use super::Export;

/// A call through one typed signature: the export, its parameters (already type-checked by
/// the codec against the same types), and its results as codec values.
pub(super) type TypedCall =
    for<'a> fn(
        &'a mut Warm,
        &'a Export,
        &'a [Value],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Value>, CallError>> + Send + 'a>>;

/// One parameter or result: a Rust type wasmtime lifts and lowers, and the WIT type it is.
pub(super) trait Part: ComponentType + Lift + Lower + Send + Sync + Sized + 'static {
    /// Whether the Rust type carries a `list<u8>` (the reason to call typed at all).
    const BYTES: bool = false;
    /// Whether `ty` is the WIT type this Rust type stands for.
    fn is(ty: &Ty) -> bool;
    /// The Rust value of a codec value of that type (`None` if it is not one).
    fn from_value(v: &Value) -> Option<Self>;
    /// The codec value.
    fn into_value(self) -> Value;
}

impl Part for Bytes {
    const BYTES: bool = true;
    fn is(ty: &Ty) -> bool {
        matches!(ty, Ty::List(t) if **t == Ty::U8)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Bytes(b) => Some(b.clone()),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Bytes(self)
    }
}

impl Part for String {
    fn is(ty: &Ty) -> bool {
        *ty == Ty::String
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

macro_rules! scalar_parts {
    ($($rust:ty => $variant:ident),* $(,)?) => {$(
        impl Part for $rust {
            fn is(ty: &Ty) -> bool {
                *ty == Ty::$variant
            }
            fn from_value(v: &Value) -> Option<Self> {
                match v {
                    Value::$variant(x) => Some(*x),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
        }
    )*};
}

scalar_parts!(bool => Bool, u32 => U32, u64 => U64, i32 => S32, i64 => S64);

impl<T: Part> Part for Option<T> {
    const BYTES: bool = T::BYTES;
    fn is(ty: &Ty) -> bool {
        matches!(ty, Ty::Option(t) if T::is(t))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Option(None) => Some(None),
            Value::Option(Some(inner)) => T::from_value(inner).map(Some),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Option(self.map(|v| Box::new(v.into_value())))
    }
}

/// One side of a `result`: a payload, or none (`()`).
pub(super) trait Side: ComponentType + Lift + Lower + Send + Sync + Sized + 'static {
    /// Whether the side carries a `list<u8>`.
    const BYTES: bool;
    /// Whether `ty` (`None`: no payload) is this side's WIT type.
    fn is(ty: Option<&Ty>) -> bool;
    /// The Rust value of a side's codec payload.
    fn from_value(v: Option<&Value>) -> Option<Self>;
    /// The codec payload.
    fn into_value(self) -> Option<Box<Value>>;
}

impl Side for () {
    const BYTES: bool = false;
    fn is(ty: Option<&Ty>) -> bool {
        ty.is_none()
    }
    fn from_value(v: Option<&Value>) -> Option<Self> {
        v.is_none().then_some(())
    }
    fn into_value(self) -> Option<Box<Value>> {
        None
    }
}

impl<T: Part> Side for T {
    const BYTES: bool = T::BYTES;
    fn is(ty: Option<&Ty>) -> bool {
        ty.is_some_and(T::is)
    }
    fn from_value(v: Option<&Value>) -> Option<Self> {
        v.and_then(T::from_value)
    }
    fn into_value(self) -> Option<Box<Value>> {
        Some(Box::new(Part::into_value(self)))
    }
}

impl<T: Side, E: Side> Part for Result<T, E> {
    const BYTES: bool = T::BYTES || E::BYTES;
    fn is(ty: &Ty) -> bool {
        matches!(ty, Ty::Result(r) if T::is(r.ok.as_ref()) && E::is(r.err.as_ref()))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Result(Ok(ok)) => T::from_value(ok.as_deref()).map(Ok),
            Value::Result(Err(err)) => E::from_value(err.as_deref()).map(Err),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Result(self.map(Side::into_value).map_err(Side::into_value))
    }
}

/// A typed parameter or result list.
pub(super) trait Parts:
    ComponentNamedList + Lift + Lower + Send + Sync + Sized + 'static
{
    /// Whether one of the parts carries a `list<u8>`.
    const BYTES: bool;
    /// Whether `tys` are the WIT types of these parts.
    fn is(tys: &[Ty]) -> bool;
    /// The Rust values of codec values of those types (`None` if they are not).
    fn from_values(vs: &[Value]) -> Option<Self>;
    /// The codec values.
    fn into_values(self) -> Vec<Value>;
}

impl Parts for () {
    const BYTES: bool = false;
    fn is(tys: &[Ty]) -> bool {
        tys.is_empty()
    }
    fn from_values(vs: &[Value]) -> Option<Self> {
        vs.is_empty().then_some(())
    }
    fn into_values(self) -> Vec<Value> {
        Vec::new()
    }
}

macro_rules! tuple_parts {
    ($len:literal: $($t:ident $i:tt),+) => {
        impl<$($t: Part),+> Parts for ($($t,)+) {
            const BYTES: bool = $($t::BYTES)||+;
            fn is(tys: &[Ty]) -> bool {
                tys.len() == $len $(&& $t::is(&tys[$i]))+
            }
            fn from_values(vs: &[Value]) -> Option<Self> {
                if vs.len() != $len {
                    return None;
                }
                Some(($($t::from_value(&vs[$i])?,)+))
            }
            fn into_values(self) -> Vec<Value> {
                vec![$(self.$i.into_value()),+]
            }
        }
    };
}

tuple_parts!(1: A 0);
tuple_parts!(2: A 0, B 1);
tuple_parts!(3: A 0, B 1, C 2);

/// Calls `export` typed as `P -> R` in `warm`, which the caller has armed with the deadline.
fn call<'a, P: Parts, R: Parts>(
    warm: &'a mut Warm,
    export: &'a Export,
    params: &'a [Value],
) -> Pin<Box<dyn Future<Output = Result<Vec<Value>, CallError>> + Send + 'a>> {
    let params = P::from_values(params);
    Box::pin(async move {
        let params = params.ok_or_else(|| mismatch(export, "parameters"))?;
        let f = warm
            .instance
            .get_typed_func::<P, R>(&mut warm.store, export.index)
            .map_err(|e| CallError::Instantiate(format!("typed `{}`: {e:#}", export.func.name)))?;
        let results = f
            .call_async(&mut warm.store, params)
            .await
            .map_err(|e| classify(e, CallError::Trap))?;
        Ok(results.into_values())
    })
}

fn mismatch(export: &Export, what: &str) -> CallError {
    CallError::Instantiate(format!(
        "the {what} of `{}` do not match its typed signature {}",
        export.func.name, export.func.signature
    ))
}

/// What to make of a signature once its Rust types `P -> R` are known: a typed export call, a
/// typed import's linking.
pub(super) trait Build {
    /// What is made.
    type Out;
    /// It, for parameters `P` and results `R`.
    fn build<P: Parts, R: Parts>(&self) -> Self::Out;
}

/// Builds the typed call of an export.
struct ExportCall;

impl Build for ExportCall {
    type Out = TypedCall;
    fn build<P: Parts, R: Parts>(&self) -> TypedCall {
        call::<P, R>
    }
}

/// The typed call for export `func`, if its signature is one this module names and it
/// carries a `list<u8>`; `None` leaves it on the dynamic path.
pub(super) fn export_call(func: &Func) -> Option<TypedCall> {
    pick(func, &ExportCall)
}

/// `b` built for results `R` after parameters `P`, when the signature carries bytes.
fn with_results<P: Parts, R: Parts, B: Build>(func: &Func, b: &B) -> Option<B::Out> {
    (R::is(&func.results) && (P::BYTES || R::BYTES)).then(|| b.build::<P, R>())
}

/// The result lists a typed function can return.
fn results_after<P: Parts, B: Build>(func: &Func, b: &B) -> Option<B::Out> {
    with_results::<P, (), B>(func, b)
        .or_else(|| with_results::<P, (Bytes,), B>(func, b))
        .or_else(|| with_results::<P, (String,), B>(func, b))
        .or_else(|| with_results::<P, (bool,), B>(func, b))
        .or_else(|| with_results::<P, (u32,), B>(func, b))
        .or_else(|| with_results::<P, (u64,), B>(func, b))
        .or_else(|| with_results::<P, (Option<Bytes>,), B>(func, b))
        .or_else(|| with_results::<P, (Result<Bytes, String>,), B>(func, b))
        .or_else(|| with_results::<P, (Result<(), String>,), B>(func, b))
        .or_else(|| with_results::<P, (Result<Option<Bytes>, String>,), B>(func, b))
}

/// The parameter list `P`, if `func` has it.
fn params<P: Parts, B: Build>(func: &Func, b: &B) -> Option<B::Out> {
    P::is(&func.params)
        .then(|| results_after::<P, B>(func, b))
        .flatten()
}

/// `b` built for `func`'s Rust types, if its signature is one this module names and it
/// carries a `list<u8>`.
pub(super) fn pick<B: Build>(func: &Func, b: &B) -> Option<B::Out> {
    params::<(), B>(func, b)
        .or_else(|| params::<(Bytes,), B>(func, b))
        .or_else(|| params::<(String,), B>(func, b))
        .or_else(|| params::<(Bytes, Bytes), B>(func, b))
        .or_else(|| params::<(String, Bytes), B>(func, b))
        .or_else(|| params::<(Bytes, String), B>(func, b))
        .or_else(|| params::<(String, String), B>(func, b))
        .or_else(|| params::<(String, String, Bytes), B>(func, b))
        .or_else(|| params::<(Bytes, u32), B>(func, b))
        .or_else(|| params::<(Bytes, u64), B>(func, b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use witmesh_proto::WitSet;

    fn func(sig: &str) -> Func {
        let wit =
            format!("package t:t; interface i {{ record r {{ b: list<u8> }} f: func{sig}; }}");
        let set = WitSet::from_wit_str("t.wit", &wit).unwrap();
        set.func("t:t/i", "f").unwrap()
    }

    #[test]
    fn byte_signatures_are_typed() {
        for sig in [
            "(b: list<u8>) -> list<u8>",
            "(k: string, v: list<u8>) -> result<_, string>",
            "(k: string) -> option<list<u8>>",
            "(k: string) -> result<option<list<u8>>, string>",
            "(b: list<u8>)",
            "() -> list<u8>",
            "(b: list<u8>) -> u64",
        ] {
            assert!(export_call(&func(sig)).is_some(), "{sig} should be typed");
        }
    }

    #[test]
    fn others_stay_dynamic() {
        for sig in [
            "(s: string) -> string",
            "(a: u32, b: u32) -> u32",
            "(x: r) -> r",
            "(b: list<u8>) -> r",
            "(b: list<u16>) -> list<u16>",
            "(b: list<u8>, c: list<u8>, d: list<u8>, e: list<u8>)",
        ] {
            assert!(
                export_call(&func(sig)).is_none(),
                "{sig} should stay dynamic"
            );
        }
    }

    #[test]
    fn values_round_trip_through_parts() {
        let v = Value::Result(Ok(Some(Box::new(Value::Option(Some(Box::new(
            Value::Bytes(Bytes::from_static(b"\x00\xff")),
        )))))));
        let r = <Result<Option<Bytes>, String> as Part>::from_value(&v).unwrap();
        assert_eq!(Part::into_value(r), v);
        let neg = Value::S64(-5);
        assert_eq!(<i64 as Part>::from_value(&neg).unwrap(), -5);
        assert!(<u64 as Part>::from_value(&neg).is_none());
    }
}
