//! Imports nothing in this host provides, linked to the router: each imported function becomes
//! a host function that hands the call to the mesh ([`crate::call::Forward`]), which finds a
//! provider on this node or elsewhere.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Linker, LinkerInstance};
use wasmtime::StoreContextMut;
use wit_parser::TypeDefKind;
use witmesh_proto::{Func, Ty, Value, WitSet};

use super::async_imports;
use super::convert::{from_vals, to_vals};
use super::remote::{ResourceTypes, StoreHandles};
use super::state::CallState;
use super::typed::{self, Parts};
use super::LoadError;
use crate::call::stream as bytes_stream;
use crate::call::{Forward, Importer};
use witmesh_proto::wit::version;

/// Why values of `ty` cannot be forwarded, if they cannot: handles only of resources that a
/// forwarded interface defines can travel, and streams only as a lone `stream<u8>`
/// parameter or result (see [`forwardable`]).
fn unforwardable(ty: &Ty, resources: &ResourceTypes) -> Option<String> {
    let all = |ts: &mut dyn Iterator<Item = &Ty>| {
        for t in ts {
            if let Some(why) = unforwardable(t, resources) {
                return Some(why);
            }
        }
        None
    };
    match ty {
        Ty::Own(r) | Ty::Borrow(r) if !resources.contains(r) => Some(format!(
            "resource `{r}` is defined by an interface that is not forwarded"
        )),
        Ty::Future(_) | Ty::Stream(_) => Some(format!(
            "`{ty}` cannot be forwarded: of streams and futures, witmesh forwards only a lone stream<u8> parameter or result"
        )),
        Ty::List(t) | Ty::Option(t) => unforwardable(t, resources),
        Ty::Record(r) => all(&mut r.fields.iter().map(|(_, t)| t)),
        Ty::Tuple(ts) => all(&mut ts.iter()),
        Ty::Variant(v) => all(&mut v.cases.iter().filter_map(|(_, t)| t.as_ref())),
        Ty::Result(r) => all(&mut r.ok.iter().chain(r.err.iter())),
        _ => None,
    }
}

/// Why `f` cannot be forwarded, if it cannot. An `async func` (`is_async`) is linked
/// concurrently: it may pass plain values, or stream its one `stream<u8>` parameter or
/// result. witmesh forwards streams only through an `async func`, which lets the component
/// write or read the stream while the call is under way.
fn forwardable(f: &Func, resources: &ResourceTypes, is_async: bool) -> Option<String> {
    let tys = || f.params.iter().chain(f.results.iter());
    if is_async {
        if bytes_stream::streams_bytes(f) || !tys().any(Ty::has_handles) {
            return None;
        }
        return Some("an async import passing resource handles, futures or streams other than a lone stream<u8> cannot be forwarded yet".to_owned());
    }
    if tys().any(|t| matches!(t, Ty::Stream(_) | Ty::Future(_))) {
        return Some(
            "witmesh forwards streams and futures only through imports declared `async func`"
                .to_owned(),
        );
    }
    tys().find_map(|t| unforwardable(t, resources))
}

/// Links every function of the imported instances `names` (of the component whose WIT is
/// `wit`) to `router`, and their resource types to remote handles. Returns the instances
/// linked and, for those that cannot be forwarded, why.
pub(super) fn forward_imports(
    linker: &mut Linker<CallState>,
    wit: &WitSet,
    names: &[String],
    router: &Arc<dyn Forward>,
    component: &Arc<str>,
) -> Result<(Vec<String>, Vec<String>), LoadError> {
    let resolve = wit.resolve();
    let link_err = |reason: String| LoadError::Link {
        name: component.to_string(),
        reason,
    };
    // The imported interfaces to forward, in world order (an interface's `use`d types come
    // from interfaces imported before it).
    let mut candidates = Vec::new();
    for pkg in wit.main_packages() {
        for world in resolve.packages[*pkg].worlds.values() {
            for (key, item) in &resolve.worlds[*world].imports {
                let wit_parser::WorldItem::Interface { id, .. } = item else {
                    continue;
                };
                let instance = resolve.name_world_key(key);
                if names.contains(&instance) && !candidates.iter().any(|(i, _)| *i == instance) {
                    candidates.push((instance, *id));
                }
            }
        }
    }
    let mut resources = ResourceTypes::default();
    let mut resource_types = Vec::new();
    let mut refused = Vec::new();
    for (instance, id) in &candidates {
        for (name, ty) in &resolve.interfaces[*id].types {
            if matches!(resolve.types[*ty].kind, TypeDefKind::Resource) {
                match resources.add(name) {
                    Some(t) => resource_types.push((instance.clone(), name.clone(), t)),
                    None => refused.push(format!(
                        "{instance} (its resource `{name}` has the name of a resource of another forwarded interface)"
                    )),
                }
            }
        }
    }
    let resources = Arc::new(resources);
    let mut linked = Vec::new();
    for (instance, id) in &candidates {
        if refused
            .iter()
            .any(|r| r.starts_with(&format!("{instance} (")))
        {
            continue;
        }
        let iface = &resolve.interfaces[*id];
        // The component model's names (`[method]counter.add`) for the linker, with wRPC's.
        let funcs: Result<Vec<(&str, Arc<Func>, bool)>, _> = iface
            .functions
            .values()
            .map(|f| {
                let is_async = wit.is_async(instance, &f.name);
                Ok((
                    f.name.as_str(),
                    Arc::new(Func::new(wit, instance, f)?),
                    is_async,
                ))
            })
            .collect();
        let funcs = match funcs {
            Ok(funcs) => funcs,
            Err(e @ witmesh_proto::WitError::Unsupported { .. }) => {
                refused.push(format!("{instance} ({e})"));
                continue;
            }
            Err(e) => return Err(link_err(e.to_string())),
        };
        let why = funcs.iter().find_map(|(_, f, is_async)| {
            forwardable(f, &resources, *is_async).map(|why| (f.name.clone(), why))
        });
        if let Some((func, why)) = why {
            refused.push(format!("{instance} (`{func}`: {why})"));
            continue;
        }
        let mut inst = linker
            .instance(instance)
            .map_err(|e| link_err(format!("{e:#}")))?;
        for (_, name, ty) in resource_types.iter().filter(|(i, _, _)| i == instance) {
            inst.resource(name, *ty, |mut store, rep| {
                store.data_mut().remote.remove(rep);
                Ok(())
            })
            .map_err(|e| link_err(format!("{e:#}")))?;
        }
        for (name, func, is_async) in funcs {
            if is_async {
                async_imports::link(&mut inst, name, func, router.clone(), component.clone())
                    .map_err(|e| link_err(format!("{e:#}")))?;
                continue;
            }
            let forwarded = Forwarded {
                router: router.clone(),
                caller: component.clone(),
                func: func.clone(),
            };
            if let Some(link_typed) = typed::pick(&func, &TypedImport) {
                link_typed(&mut inst, name, forwarded).map_err(|e| link_err(format!("{e:#}")))?;
                continue;
            }
            let (router, caller, resources) =
                (router.clone(), component.clone(), resources.clone());
            inst.func_new_async(name, move |mut store, _ty, params, results| {
                let (router, caller, func, resources) = (
                    router.clone(),
                    caller.clone(),
                    func.clone(),
                    resources.clone(),
                );
                Box::new(async move {
                    let (deadline, link) = {
                        let data = store.data();
                        let versionless = version::split(&func.instance).0;
                        (data.deadline, data.links.get(versionless).cloned())
                    };
                    let mut handles = StoreHandles::new(&mut store, &resources, None);
                    let values = from_vals(&func.params, params, &mut handles)
                        .map_err(wasmtime::Error::new)?;
                    let pin = handles.pin.take();
                    let from = Importer {
                        component: &caller,
                        link: link.as_deref(),
                        deadline,
                    };
                    let (out, origin) = router
                        .call(from, &func, values, pin.as_ref())
                        .await
                        .map_err(wasmtime::Error::new)?;
                    let mut handles = StoreHandles::new(&mut store, &resources, Some(origin));
                    let vals =
                        to_vals(&func.results, &out, &mut handles).map_err(wasmtime::Error::new)?;
                    for (slot, v) in results.iter_mut().zip(vals) {
                        *slot = v;
                    }
                    Ok(())
                })
            })
            .map_err(|e| link_err(format!("{e:#}")))?;
        }
        linked.push(instance.clone());
    }
    Ok((linked, refused))
}

/// An imported function handed to the mesh: who calls it, and through which router.
#[derive(Clone)]
struct Forwarded {
    router: Arc<dyn Forward>,
    caller: Arc<str>,
    func: Arc<Func>,
}

impl Forwarded {
    /// The running call's deadline and the link its component selected for this import.
    fn context(
        &self,
        store: &StoreContextMut<'_, CallState>,
    ) -> (Option<Instant>, Option<Arc<str>>) {
        let data = store.data();
        let versionless = version::split(&self.func.instance).0;
        (data.deadline, data.links.get(versionless).cloned())
    }

    /// Forwards `values` under `deadline` and `link`.
    async fn forward(
        &self,
        (deadline, link): (Option<Instant>, Option<Arc<str>>),
        values: Vec<Value>,
    ) -> wasmtime::Result<Vec<Value>> {
        let from = Importer {
            component: &self.caller,
            link: link.as_deref(),
            deadline,
        };
        let (out, _) = self
            .router
            .call(from, &self.func, values, None)
            .await
            .map_err(wasmtime::Error::new)?;
        Ok(out)
    }
}

/// Links a forwarded import typed, for signatures [`typed`] names.
type LinkTyped = fn(&mut LinkerInstance<'_, CallState>, &str, Forwarded) -> wasmtime::Result<()>;

/// Builds a typed import's linking.
struct TypedImport;

impl typed::Build for TypedImport {
    type Out = LinkTyped;
    fn build<P: Parts, R: Parts>(&self) -> LinkTyped {
        link_typed::<P, R>
    }
}

/// Links `name` as a host function taking `P` from the component and giving it `R`, with
/// bytes copied whole, that forwards through `forwarded`.
fn link_typed<P: Parts, R: Parts>(
    inst: &mut LinkerInstance<'_, CallState>,
    name: &str,
    forwarded: Forwarded,
) -> wasmtime::Result<()> {
    inst.func_wrap_async(name, move |store, params: P| {
        let forwarded = forwarded.clone();
        let context = forwarded.context(&store);
        Box::new(async move {
            let out = forwarded.forward(context, params.into_values()).await?;
            R::from_values(&out).ok_or_else(|| {
                wasmtime::Error::msg(format!(
                    "the results of `{}` do not match its typed signature {}",
                    forwarded.func.name, forwarded.func.signature
                ))
            })
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn streams_go_only_to_async_imports_and_only_as_bytes() {
        let wit = WitSet::from_wit_str(
            "t.wit",
            "package t:t;\ninterface i {\n  up: func(data: stream<u8>) -> u64;\n  words: func(w: stream<string>);\n  plain: func(x: u32) -> u32;\n}\n",
        )
        .unwrap();
        let none = ResourceTypes::default();
        let f = |name| wit.func("t:t/i", name).unwrap();
        let why = forwardable(&f("up"), &none, false).unwrap();
        assert!(why.contains("async func"), "{why}");
        assert_eq!(forwardable(&f("up"), &none, true), None);
        let why = forwardable(&f("words"), &none, true).unwrap();
        assert!(why.contains("lone stream<u8>"), "{why}");
        assert_eq!(forwardable(&f("plain"), &none, false), None);
        assert_eq!(forwardable(&f("plain"), &none, true), None);
    }
}
