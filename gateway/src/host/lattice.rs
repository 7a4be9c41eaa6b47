//! `wasmcloud:bus/lattice@1.0.0`, provided by the host: `set-link-name(name, interfaces)`
//! switches the named link (`[[mesh.links]]`) this component instance's later calls to those
//! interfaces take, as wasmCloud's link names do.

use std::sync::Arc;

use wasmtime::component::{Linker, Resource, ResourceType};

use super::state::CallState;

/// The instance name of the interface.
pub const LATTICE_INSTANCE: &str = "wasmcloud:bus/lattice@1.0.0";

/// Most interfaces one instance may keep link selections for.
pub const MAX_LINK_SELECTIONS: usize = 256; // far more interfaces than a component imports

/// A `call-target-interface`: the versionless `namespace:package/interface` it names.
pub struct CallTarget(String);

/// Adds the interface to `linker`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(LATTICE_INSTANCE)?;
    inst.resource(
        "call-target-interface",
        ResourceType::host::<CallTarget>(),
        |mut store, rep| {
            store
                .data_mut()
                .table
                .delete(Resource::<CallTarget>::new_own(rep))?;
            Ok(())
        },
    )?;
    inst.func_wrap(
        "[constructor]call-target-interface",
        |mut store, (namespace, package, interface): (String, String, String)| {
            let target = CallTarget(format!("{namespace}:{package}/{interface}"));
            Ok((store.data_mut().table.push(target)?,))
        },
    )?;
    inst.func_wrap(
        "set-link-name",
        |mut store, (name, targets): (String, Vec<Resource<CallTarget>>)| {
            let data = store.data_mut();
            let name: Arc<str> = Arc::from(name);
            for t in targets {
                let CallTarget(iface) = data.table.delete(t)?;
                if data.links.len() < MAX_LINK_SELECTIONS || data.links.contains_key(&iface) {
                    tracing::debug!(
                        component = &*data.component,
                        link = &*name,
                        "calls to {iface} now use link `{name}`"
                    );
                    data.links.insert(iface, name.clone());
                }
            }
            Ok(())
        },
    )?;
    Ok(())
}
