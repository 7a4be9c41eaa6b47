//! Resources that live at a provider elsewhere. A forwarded interface's resource types are
//! host resources here; each rep indexes the store's table of wRPC handles, and each handle
//! remembers the provider that issued it, so calls that pass it go back there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use wasmtime::component::{ResourceAny, ResourceDynamic, ResourceType, Val};
use wasmtime::StoreContextMut;
use witmesh_proto::{Ty, Value};

use super::convert::{ConvertError, Handles};
use super::state::CallState;
use crate::call::Issuer;

/// Most remote handles one component instance may hold at once.
pub const MAX_REMOTE_HANDLES: usize = 4096;

/// A handle a provider issued, and that provider.
#[derive(Clone)]
pub struct RemoteHandle {
    /// The handle's bytes, as the provider sent them.
    pub bytes: Bytes,
    /// Where it lives.
    pub origin: Issuer,
}

/// One store's remote handles, by rep.
#[derive(Default)]
pub struct RemoteTable {
    next: u32,
    entries: HashMap<u32, RemoteHandle>,
}

impl RemoteTable {
    fn insert(&mut self, handle: RemoteHandle) -> Option<u32> {
        if self.entries.len() >= MAX_REMOTE_HANDLES {
            return None;
        }
        loop {
            self.next = self.next.wrapping_add(1);
            if !self.entries.contains_key(&self.next) {
                self.entries.insert(self.next, handle);
                return Some(self.next);
            }
        }
    }

    /// Forgets the handle at `rep` (the component dropped its resource).
    pub fn remove(&mut self, rep: u32) -> Option<RemoteHandle> {
        self.entries.remove(&rep)
    }
}

/// The host type of each resource of a component's forwarded interfaces, by resource name.
#[derive(Default)]
pub struct ResourceTypes(HashMap<Arc<str>, u32>);

static NEXT_TYPE: AtomicU32 = AtomicU32::new(1);

impl ResourceTypes {
    /// Registers resource `name` and returns its fresh host type; `None` when another
    /// forwarded interface already defines a resource of that name.
    pub fn add(&mut self, name: &str) -> Option<ResourceType> {
        if self.0.contains_key(name) {
            return None;
        }
        let id = NEXT_TYPE.fetch_add(1, Ordering::Relaxed);
        self.0.insert(Arc::from(name), id);
        Some(ResourceType::host_dynamic(id))
    }

    /// Whether resource `name` is known.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn id<'t>(&self, ty: &'t Ty) -> Result<(u32, &'t str), ConvertError> {
        let (Ty::Own(name) | Ty::Borrow(name)) = ty else {
            return Err(ConvertError::Unsupported("non-resource handle"));
        };
        self.0
            .get(name)
            .map(|id| (*id, &**name))
            .ok_or_else(|| ConvertError::Resource {
                resource: name.to_string(),
                reason: "not a resource of a forwarded interface".to_owned(),
            })
    }
}

/// Converts handles of one forwarded call against the calling store.
pub struct StoreHandles<'a, 's> {
    store: &'a mut StoreContextMut<'s, CallState>,
    types: &'a ResourceTypes,
    /// The provider every handle passed so far came from.
    pub pin: Option<Issuer>,
    /// The provider that answered, recorded on handles in the results.
    origin: Option<Issuer>,
}

impl<'a, 's> StoreHandles<'a, 's> {
    /// For lowering parameters (learns the pin) or, with `origin`, lifting results.
    pub fn new(
        store: &'a mut StoreContextMut<'s, CallState>,
        types: &'a ResourceTypes,
        origin: Option<Issuer>,
    ) -> Self {
        StoreHandles {
            store,
            types,
            pin: None,
            origin,
        }
    }
}

fn bad(name: &str, reason: impl Into<String>) -> ConvertError {
    ConvertError::Resource {
        resource: name.to_owned(),
        reason: reason.into(),
    }
}

impl Handles for StoreHandles<'_, '_> {
    fn lower(&mut self, ty: &Ty, r: ResourceAny) -> Result<Value, ConvertError> {
        let (id, name) = self.types.id(ty)?;
        let r = ResourceDynamic::try_from_resource_any(r, &mut *self.store)
            .map_err(|e| bad(name, format!("{e:#}")))?;
        if r.ty() != id {
            return Err(bad(name, "a resource of another type was passed"));
        }
        let table = &mut self.store.data_mut().remote;
        let handle = if matches!(ty, Ty::Own(_)) {
            table.remove(r.rep())
        } else {
            table.entries.get(&r.rep()).cloned()
        }
        .ok_or_else(|| bad(name, format!("handle {} is not held here", r.rep())))?;
        match &self.pin {
            Some(p) if p.key() != handle.origin.key() => {
                return Err(bad(
                    name,
                    format!(
                        "one call passes resources of two providers ({} and {}); a call can reach only one",
                        p.key(),
                        handle.origin.key()
                    ),
                ))
            }
            Some(_) => {}
            None => self.pin = Some(handle.origin.clone()),
        }
        Ok(Value::Handle(handle.bytes))
    }

    fn lift(&mut self, ty: &Ty, bytes: &Bytes) -> Result<Val, ConvertError> {
        let (id, name) = self.types.id(ty)?;
        let origin = self
            .origin
            .clone()
            .ok_or_else(|| bad(name, "a handle arrived without the provider that sent it"))?;
        let rep = self
            .store
            .data_mut()
            .remote
            .insert(RemoteHandle {
                bytes: bytes.clone(),
                origin,
            })
            .ok_or_else(|| {
                bad(
                    name,
                    format!("the component already holds {MAX_REMOTE_HANDLES} remote resources; drop some"),
                )
            })?;
        let any = ResourceDynamic::new_own(rep, id)
            .try_into_resource_any(&mut *self.store)
            .map_err(|e| bad(name, format!("{e:#}")))?;
        Ok(Val::Resource(any))
    }
}
