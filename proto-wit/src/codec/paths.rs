//! Async paths: where in a call's values streams and futures carry data that arrives later.
//!
//! Both sides of a wRPC call declare these up front so the transport can route nested data.
//! The rules mirror `wrpc-introspect` 0.7 exactly (checked by a test), including its quirk that
//! `option`, `result` and `variant` are transparent: an `option<future<T>>` is addressed as if
//! it were the future itself.

use std::collections::BTreeSet;

use crate::ty::Ty;

/// A path into a value: `Some(i)` indexes a record field, tuple member or top-level value;
/// `None` stands for every element of a list or stream.
pub type AsyncPath = Vec<Option<u32>>;

/// The async paths nested in `ty`, and whether `ty` itself is asynchronous.
#[must_use]
pub fn async_paths(ty: &Ty) -> (BTreeSet<AsyncPath>, bool) {
    let mut out = BTreeSet::new();
    let is_async = collect(ty, &mut Vec::new(), &mut out);
    (out, is_async)
}

/// The async paths of a call's parameters or results, treated as one tuple.
#[must_use]
pub fn values_async_paths(tys: &[Ty]) -> BTreeSet<AsyncPath> {
    let mut out = BTreeSet::new();
    let mut prefix = Vec::new();
    for (i, ty) in tys.iter().enumerate() {
        prefix.push(Some(i as u32));
        if collect(ty, &mut prefix, &mut out) {
            out.insert(prefix.clone());
        }
        prefix.pop();
    }
    out
}

/// Adds the paths nested in `ty` (under `prefix`) to `out`; returns whether `ty` is async.
fn collect(ty: &Ty, prefix: &mut Vec<Option<u32>>, out: &mut BTreeSet<AsyncPath>) -> bool {
    let mut member = |seg: Option<u32>, ty: &Ty, out: &mut BTreeSet<AsyncPath>| {
        prefix.push(seg);
        if collect(ty, prefix, out) {
            out.insert(prefix.clone());
        }
        prefix.pop();
    };
    match ty {
        Ty::List(elem) => {
            member(None, elem, out);
            false
        }
        Ty::Record(r) => {
            for (i, (_, ty)) in r.fields.iter().enumerate() {
                member(Some(i as u32), ty, out);
            }
            false
        }
        Ty::Tuple(tys) => {
            for (i, ty) in tys.iter().enumerate() {
                member(Some(i as u32), ty, out);
            }
            false
        }
        Ty::Option(t) => collect(t, prefix, out),
        Ty::Result(r) => {
            let ok = r.ok.as_ref().is_some_and(|t| collect(t, prefix, out));
            let err = r.err.as_ref().is_some_and(|t| collect(t, prefix, out));
            ok || err
        }
        Ty::Variant(v) => {
            let mut any = false;
            for t in v.cases.iter().filter_map(|(_, t)| t.as_ref()) {
                any |= collect(t, prefix, out);
            }
            any
        }
        Ty::Future(t) => {
            // A future's own nested paths are relative to the future's data, not its container.
            if let Some(t) = t {
                collect(t, prefix, out);
            }
            true
        }
        Ty::Stream(t) => {
            if let Some(t) = t {
                member(None, t, out);
            }
            true
        }
        _ => false,
    }
}
