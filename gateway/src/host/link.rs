//! Imports nothing in this host provides, linked to the router: each imported function becomes
//! a host function that hands the call to [`crate::route::Router`], which finds a provider on
//! this node or elsewhere in the mesh.

use std::sync::Arc;

use wasmtime::component::Linker;
use witmesh_proto::{Func, Ty, WitSet};

use super::convert::{from_val, to_val};
use super::state::CallState;
use super::LoadError;
use crate::route::Router;

/// Whether values of `ty` can be forwarded: resource handles, futures and streams are bound to
/// the calling instance and cannot travel yet.
fn forwardable(ty: &Ty) -> bool {
    match ty {
        Ty::Own(_) | Ty::Borrow(_) | Ty::Future(_) | Ty::Stream(_) => false,
        Ty::List(t) | Ty::Option(t) => forwardable(t),
        Ty::Record(r) => r.fields.iter().all(|(_, t)| forwardable(t)),
        Ty::Tuple(ts) => ts.iter().all(forwardable),
        Ty::Variant(v) => v
            .cases
            .iter()
            .all(|(_, t)| t.as_ref().is_none_or(forwardable)),
        Ty::Result(r) => {
            r.ok.as_ref().is_none_or(forwardable) && r.err.as_ref().is_none_or(forwardable)
        }
        _ => true,
    }
}

/// Links every function of the imported instances `names` (of the component whose WIT is
/// `wit`) to `router`. Returns the instances linked and, for those that cannot be forwarded,
/// why.
pub(super) fn forward_imports(
    linker: &mut Linker<CallState>,
    wit: &WitSet,
    names: &[String],
    router: &Arc<Router>,
    component: &Arc<str>,
) -> Result<(Vec<String>, Vec<String>), LoadError> {
    let resolve = wit.resolve();
    let link_err = |reason: String| LoadError::Link {
        name: component.to_string(),
        reason,
    };
    let mut linked = Vec::new();
    let mut refused = Vec::new();
    for pkg in wit.main_packages() {
        for world in resolve.packages[*pkg].worlds.values() {
            for (key, item) in &resolve.worlds[*world].imports {
                let wit_parser::WorldItem::Interface { id, .. } = item else {
                    continue;
                };
                let instance = resolve.name_world_key(key);
                if !names.contains(&instance) || linked.contains(&instance) {
                    continue;
                }
                let iface = &resolve.interfaces[*id];
                let funcs: Vec<Arc<Func>> = iface
                    .functions
                    .values()
                    .map(|f| Arc::new(Func::new(wit, &instance, f)))
                    .collect();
                if let Some(f) = funcs
                    .iter()
                    .find(|f| !f.params.iter().chain(f.results.iter()).all(forwardable))
                {
                    refused.push(format!(
                        "{instance} (`{}` passes resources, futures or streams, which cannot be forwarded yet)",
                        f.name
                    ));
                    continue;
                }
                let mut inst = linker
                    .instance(&instance)
                    .map_err(|e| link_err(format!("{e:#}")))?;
                for f in iface.functions.values() {
                    let func = Arc::new(Func::new(wit, &instance, f));
                    if !func
                        .params
                        .iter()
                        .chain(func.results.iter())
                        .all(forwardable)
                    {
                        return Err(link_err(format!(
                            "import `{instance}.{}` passes resources, futures or streams, which cannot be forwarded to another component or node yet",
                            func.name
                        )));
                    }
                    let (router, caller) = (router.clone(), component.clone());
                    inst.func_new_async(&f.name, move |store, _ty, params, results| {
                        let (deadline, link) = {
                            let data = store.data();
                            let versionless = crate::route::version::split(&func.instance).0;
                            (data.deadline, data.links.get(versionless).cloned())
                        };
                        let (router, caller, func) = (router.clone(), caller.clone(), func.clone());
                        Box::new(async move {
                            let values = func
                                .params
                                .iter()
                                .zip(params)
                                .map(|(t, v)| from_val(t, v))
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(wasmtime::Error::new)?;
                            let out = router
                                .call(&caller, link.as_deref(), &func, values, deadline)
                                .await
                                .map_err(wasmtime::Error::new)?;
                            for ((slot, t), v) in
                                results.iter_mut().zip(func.results.iter()).zip(&out)
                            {
                                *slot = to_val(t, v).map_err(wasmtime::Error::new)?;
                            }
                            Ok(())
                        })
                    })
                    .map_err(|e| link_err(format!("{e:#}")))?;
                }
                linked.push(instance);
            }
        }
    }
    Ok((linked, refused))
}
