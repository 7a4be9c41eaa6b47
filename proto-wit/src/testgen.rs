//! Generators of WIT types and values for property tests across the crate.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use proptest::prelude::*;

use crate::ty::{EnumTy, FlagsTy, RecordTy, ResultTy, VariantTy};
use crate::value::{FutureValue, StreamValue};
use crate::{Ty, Value};

fn scalar_ty() -> impl Strategy<Value = Ty> {
    prop_oneof![
        Just(Ty::Bool),
        Just(Ty::S8),
        Just(Ty::S16),
        Just(Ty::S32),
        Just(Ty::S64),
        Just(Ty::U8),
        Just(Ty::U16),
        Just(Ty::U32),
        Just(Ty::U64),
        Just(Ty::F32),
        Just(Ty::F64),
        Just(Ty::Char),
        Just(Ty::String),
        Just(Ty::Own(Arc::from("res"))),
        Just(Ty::Borrow(Arc::from("res"))),
        (1usize..20).prop_map(|n| Ty::Enum(Arc::new(EnumTy {
            name: Some("e".into()),
            cases: (0..n).map(|i| format!("c{i}")).collect(),
        }))),
        (1usize..140).prop_map(|n| Ty::Flags(Arc::new(FlagsTy {
            name: Some("f".into()),
            flags: (0..n).map(|i| format!("f{i}")).collect(),
        }))),
    ]
}

pub(crate) fn any_ty() -> impl Strategy<Value = Ty> {
    scalar_ty().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| Ty::List(Arc::new(t))),
            Just(Ty::List(Arc::new(Ty::U8))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|ts| Ty::Record(Arc::new(
                RecordTy {
                    name: Some("r".into()),
                    fields: ts
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("f{i}"), t))
                        .collect(),
                }
            ))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|ts| Ty::Tuple(ts.into())),
            prop::collection::vec(prop::option::of(inner.clone()), 1..4).prop_map(|cs| {
                Ty::Variant(Arc::new(VariantTy {
                    name: Some("v".into()),
                    cases: cs
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("c{i}"), t))
                        .collect(),
                }))
            }),
            inner.clone().prop_map(|t| Ty::Option(Arc::new(t))),
            (
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone())
            )
                .prop_map(|(ok, err)| Ty::Result(Arc::new(ResultTy { ok, err }))),
            prop::option::of(inner.clone()).prop_map(|t| Ty::Future(t.map(Arc::new))),
            prop::option::of(inner).prop_map(|t| Ty::Stream(t.map(Arc::new))),
        ]
    })
}

fn payload(t: Option<&Ty>) -> BoxedStrategy<Option<Box<Value>>> {
    match t {
        Some(t) => any_value(t).prop_map(|v| Some(Box::new(v))).boxed(),
        None => Just(None).boxed(),
    }
}

fn list_of(elem: &Ty, min: usize) -> BoxedStrategy<Value> {
    if *elem == Ty::U8 {
        prop::collection::vec(any::<u8>(), min..64)
            .prop_map(|b| Value::Bytes(b.into()))
            .boxed()
    } else {
        prop::collection::vec(any_value(elem), min..4)
            .prop_map(Value::List)
            .boxed()
    }
}

/// Values of `ty`, NaN-free so that `PartialEq` is a faithful round-trip check.
pub(crate) fn any_value(ty: &Ty) -> BoxedStrategy<Value> {
    match ty {
        Ty::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Ty::S8 => any::<i8>().prop_map(Value::S8).boxed(),
        Ty::S16 => any::<i16>().prop_map(Value::S16).boxed(),
        Ty::S32 => any::<i32>().prop_map(Value::S32).boxed(),
        Ty::S64 => any::<i64>().prop_map(Value::S64).boxed(),
        Ty::U8 => any::<u8>().prop_map(Value::U8).boxed(),
        Ty::U16 => any::<u16>().prop_map(Value::U16).boxed(),
        Ty::U32 => any::<u32>().prop_map(Value::U32).boxed(),
        Ty::U64 => any::<u64>().prop_map(Value::U64).boxed(),
        Ty::F32 => prop::num::f32::ANY
            .prop_filter("no NaN", |f| !f.is_nan())
            .prop_map(Value::F32)
            .boxed(),
        Ty::F64 => prop::num::f64::ANY
            .prop_filter("no NaN", |f| !f.is_nan())
            .prop_map(Value::F64)
            .boxed(),
        Ty::Char => any::<char>().prop_map(Value::Char).boxed(),
        Ty::String => ".{0,12}".prop_map(Value::String).boxed(),
        Ty::Own(_) | Ty::Borrow(_) => prop::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| Value::Handle(b.into()))
            .boxed(),
        Ty::List(elem) => list_of(elem, 0),
        Ty::Record(r) => r
            .fields
            .iter()
            .map(|(_, t)| any_value(t))
            .collect::<Vec<_>>()
            .prop_map(Value::Record)
            .boxed(),
        Ty::Tuple(ts) => ts
            .iter()
            .map(any_value)
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Ty::Variant(v) => {
            let cases: Vec<BoxedStrategy<Value>> = v
                .cases
                .iter()
                .enumerate()
                .map(|(i, (_, t))| {
                    payload(t.as_ref())
                        .prop_map(move |p| Value::Variant(i as u32, p))
                        .boxed()
                })
                .collect();
            prop::strategy::Union::new(cases).boxed()
        }
        Ty::Enum(e) => (0..e.cases.len() as u32).prop_map(Value::Enum).boxed(),
        Ty::Option(t) => prop::option::of(any_value(t))
            .prop_map(|o| Value::Option(o.map(Box::new)))
            .boxed(),
        Ty::Result(r) => prop_oneof![
            payload(r.ok.as_ref()).prop_map(|p| Value::Result(Ok(p))),
            payload(r.err.as_ref()).prop_map(|p| Value::Result(Err(p))),
        ]
        .boxed(),
        Ty::Flags(f) => prop::collection::btree_set(0..f.flags.len() as u32, 0..f.flags.len())
            .prop_map(|s| Value::Flags(s.into_iter().collect()))
            .boxed(),
        Ty::Future(t) => prop_oneof![
            Just(Value::Future(FutureValue::Pending)),
            payload(t.as_deref()).prop_map(|p| Value::Future(FutureValue::Ready(p))),
        ]
        .boxed(),
        Ty::Stream(t) => {
            let elem = t.as_deref().cloned().unwrap_or(Ty::Tuple(Arc::from([])));
            prop_oneof![
                Just(Value::Stream(StreamValue::Pending)),
                list_of(&elem, 1).prop_map(|l| Value::Stream(StreamValue::Ready(Box::new(l)))),
            ]
            .boxed()
        }
    }
}

pub(crate) fn ty_and_value() -> impl Strategy<Value = (Ty, Value)> {
    any_ty().prop_flat_map(|t| {
        let v = any_value(&t);
        (Just(t), v)
    })
}
