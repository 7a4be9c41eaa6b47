//! Components that export resources. Resources live in an instance, so the functions that pass
//! handles run in one resident instance, one call at a time (the others keep their pool of
//! instances); a table maps the wRPC handles callers hold to the resources it made. A failed
//! call discards the instance with its resources: handles it issued are refused from then on,
//! by the instance tag they carry. A handle the instance never issued fails only that call.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use wasmtime::component::{ResourceAny, Val};
use witmesh_proto::{Ty, Value};

use super::convert::{ConvertError, Handles};
use super::invoke::Warm;

/// Most handles one resident instance keeps for its callers. wRPC 0.11 has no message that
/// says a caller dropped a handle, so past this the oldest is ended to make room.
pub const MAX_EXPORTED_HANDLES: usize = 4096;

/// Bytes in a wire handle: the instance tag, then the handle's id. Both come from the
/// operating system's random source, so a caller holding one handle cannot guess another.
const HANDLE_LEN: usize = 16;

/// 64 bits from the operating system's random source.
fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|e| {
        tracing::error!("the operating system's random source failed ({e}); resource handles fall back to a weaker generator");
        fastrand::u64(..)
    })
}

/// The resident instance and the resources it has handed out.
pub(crate) struct Resident {
    pub(crate) warm: Warm,
    pub(crate) table: ExportTable,
}

/// Handles issued by one resident instance.
pub(crate) struct ExportTable {
    tag: u64,
    entries: HashMap<u64, (Arc<str>, ResourceAny)>,
    /// Ids oldest first, for ending the oldest to make room.
    order: VecDeque<u64>,
    /// Resources an `own` parameter took out for the call being prepared: put back if the
    /// call never starts.
    moving: Vec<(u64, Arc<str>, ResourceAny)>,
    /// Resources ended to make room, to be dropped in the store after the call.
    pub(crate) evicted: Vec<ResourceAny>,
    component: Arc<str>,
}

impl ExportTable {
    /// An empty table for a fresh instance of `component`.
    pub(crate) fn new(component: Arc<str>) -> Self {
        ExportTable {
            tag: random_u64(),
            entries: HashMap::new(),
            order: VecDeque::new(),
            moving: Vec::new(),
            evicted: Vec::new(),
            component,
        }
    }

    /// Handles held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, resource: &str, r: ResourceAny) -> Bytes {
        while self.entries.len() >= MAX_EXPORTED_HANDLES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((name, r)) = self.entries.remove(&oldest) {
                tracing::warn!(
                    component = &*self.component,
                    "{MAX_EXPORTED_HANDLES} `{name}` handles are held: ending the oldest"
                );
                self.evicted.push(r);
            }
        }
        let id = loop {
            let id = random_u64();
            if !self.entries.contains_key(&id) {
                break id;
            }
        };
        self.entries.insert(id, (Arc::from(resource), r));
        self.order.push_back(id);
        let mut b = BytesMut::with_capacity(HANDLE_LEN);
        b.put_u64(self.tag);
        b.put_u64(id);
        b.freeze()
    }

    /// The call whose parameters were being prepared will not start: the resources its `own`
    /// parameters took out go back under their handles.
    pub(crate) fn restore_moving(&mut self) {
        for (id, name, r) in self.moving.drain(..) {
            self.entries.insert(id, (name, r));
            self.order.push_back(id);
        }
    }

    /// The call started: the resources its `own` parameters took out are the component's.
    pub(crate) fn commit_moving(&mut self) {
        self.moving.clear();
    }

    fn find(&self, resource: &str, bytes: &[u8]) -> Result<u64, ConvertError> {
        let bad = |reason: String| ConvertError::Resource {
            resource: resource.to_owned(),
            reason,
        };
        if bytes.len() != HANDLE_LEN {
            return Err(bad(format!(
                "a handle of {} bytes was passed; component {} issues {HANDLE_LEN}-byte handles",
                bytes.len(),
                self.component
            )));
        }
        let mut raw = bytes;
        let (tag, id) = (raw.get_u64(), raw.get_u64());
        if tag != self.tag {
            return Err(bad(format!(
                "the handle was not issued by the running instance of component {} (it was issued before a failed call restarted it, or elsewhere); make a new one",
                self.component
            )));
        }
        match self.entries.get(&id) {
            Some((name, _)) if **name == *resource => Ok(id),
            Some((name, _)) => Err(bad(format!(
                "the handle is a `{name}`, not a `{resource}`"
            ))),
            None if self.moving.iter().any(|(i, _, _)| *i == id) => Err(bad(
                "the same handle is passed twice in one call, the first time as an `own`; pass it once"
                    .to_owned(),
            )),
            None => Err(bad(format!(
                "the handle is not held by component {} (ended, moved, or ended to make room after {MAX_EXPORTED_HANDLES}); make a new one",
                self.component
            ))),
        }
    }
}

fn resource_name(ty: &Ty) -> Result<&str, ConvertError> {
    match ty {
        Ty::Own(n) | Ty::Borrow(n) => Ok(n),
        _ => Err(ConvertError::Unsupported("non-resource handle")),
    }
}

impl Handles for ExportTable {
    fn lower(&mut self, ty: &Ty, r: ResourceAny) -> Result<Value, ConvertError> {
        Ok(Value::Handle(self.insert(resource_name(ty)?, r)))
    }

    fn lift(&mut self, ty: &Ty, bytes: &Bytes) -> Result<Val, ConvertError> {
        let name = resource_name(ty)?;
        let id = self.find(name, bytes)?;
        let any = if matches!(ty, Ty::Own(_)) {
            self.order.retain(|i| *i != id);
            match self.entries.remove(&id) {
                Some((n, r)) => {
                    self.moving.push((id, n, r));
                    Some(r)
                }
                None => None,
            }
        } else {
            self.entries.get(&id).map(|(_, r)| *r)
        };
        any.map(Val::Resource)
            .ok_or_else(|| ConvertError::Resource {
                resource: name.to_owned(),
                reason: "the handle vanished while the call was prepared".to_owned(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use wasmtime::component::ResourceDynamic;
    use wasmtime::{Engine, Store};

    use super::*;

    fn resource(store: &mut Store<()>, rep: u32) -> ResourceAny {
        ResourceDynamic::new_own(rep, 7)
            .try_into_resource_any(&mut *store)
            .unwrap()
    }

    fn own() -> Ty {
        Ty::Own(Arc::from("counter"))
    }

    fn borrow() -> Ty {
        Ty::Borrow(Arc::from("counter"))
    }

    #[test]
    fn borrows_keep_handles_and_owns_move_them() {
        let mut store = Store::new(&Engine::default(), ());
        let mut t = ExportTable::new(Arc::from("c"));
        let r = resource(&mut store, 1);
        let Value::Handle(h) = t.lower(&own(), r).unwrap() else {
            panic!("not a handle")
        };
        assert_eq!(h.len(), HANDLE_LEN);
        assert!(matches!(t.lift(&borrow(), &h).unwrap(), Val::Resource(x) if x == r));
        assert!(matches!(t.lift(&own(), &h).unwrap(), Val::Resource(x) if x == r));
        t.commit_moving();
        assert_eq!(t.len(), 0);
        let e = t.lift(&borrow(), &h).unwrap_err().to_string();
        assert!(e.contains("not held"), "{e}");
    }

    #[test]
    fn foreign_short_and_mistyped_handles_are_refused() {
        let mut store = Store::new(&Engine::default(), ());
        let mut t = ExportTable::new(Arc::from("c"));
        let Value::Handle(h) = t.lower(&own(), resource(&mut store, 1)).unwrap() else {
            panic!("not a handle")
        };
        let mut other = ExportTable::new(Arc::from("c"));
        let e = other.lift(&borrow(), &h).unwrap_err().to_string();
        assert!(e.contains("not issued by the running instance"), "{e}");
        let e = t
            .lift(&borrow(), &Bytes::from_static(b"abc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 bytes"), "{e}");
        let e = t
            .lift(&Ty::Borrow(Arc::from("gauge")), &h)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a `counter`, not a `gauge`"), "{e}");
    }

    #[test]
    fn an_own_taken_for_a_call_that_never_starts_goes_back() {
        let mut store = Store::new(&Engine::default(), ());
        let mut t = ExportTable::new(Arc::from("c"));
        let Value::Handle(h) = t.lower(&own(), resource(&mut store, 1)).unwrap() else {
            panic!("not a handle")
        };
        t.lift(&own(), &h).unwrap();
        assert_eq!(t.len(), 0);
        let e = t.lift(&borrow(), &h).unwrap_err().to_string();
        assert!(e.contains("passed twice in one call"), "{e}");
        t.restore_moving();
        assert_eq!(t.len(), 1);
        t.lift(&own(), &h).unwrap();
        t.commit_moving();
        t.restore_moving();
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn the_oldest_handle_is_ended_to_make_room() {
        let mut store = Store::new(&Engine::default(), ());
        let mut t = ExportTable::new(Arc::from("c"));
        let mut first = None;
        for rep in 0..=MAX_EXPORTED_HANDLES as u32 {
            let Value::Handle(h) = t.lower(&own(), resource(&mut store, rep)).unwrap() else {
                panic!("not a handle")
            };
            first.get_or_insert(h);
        }
        assert_eq!(t.len(), MAX_EXPORTED_HANDLES);
        assert_eq!(t.evicted.len(), 1);
        assert!(t.lift(&borrow(), &first.unwrap()).is_err());
    }
}
