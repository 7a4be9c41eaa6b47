//! Components built for the component model's async ABI (`async func`, streams and futures
//! they pass themselves). The wit-parser of the pinned wRPC stack predates that ABI and
//! cannot decode them, so they are decoded with the newer wit-parser that wasmtime brings
//! and brought down to the WIT model witmesh works in. Nothing is lost that the wire needs:
//! wRPC calls an async function exactly like a plain one.

use std::collections::BTreeSet;

use id_arena::{Arena, ArenaBehavior, DefaultArenaBehavior, Id};
use wit_parser as old;
use wit_parser_async as new;

/// Why a component's WIT cannot be brought down to witmesh's model.
#[derive(Debug, thiserror::Error)]
pub enum AsyncAbiError {
    /// The newer decoder refused the bytes too.
    #[error("{0}")]
    Decode(String),
    /// The WIT uses a type that witmesh's model and wRPC's encoding do not have.
    #[error("type `{name}` is a {kind}, which witmesh cannot carry yet")]
    Unsupported {
        /// The type's name, or `<anonymous>`.
        name: String,
        /// What kind of type it is.
        kind: &'static str,
    },
}

/// A component's WIT in witmesh's model, and which of its interface functions are `async`.
pub struct Lowered {
    /// The resolve.
    pub resolve: old::Resolve,
    /// The package the component's world is in.
    pub package: old::PackageId,
    /// `(instance, function)` of every `async func` of an interface, e.g.
    /// `("witmesh:bytes/bytes@0.1.0", "upload")`: the host must link those as async.
    pub async_funcs: BTreeSet<(String, String)>,
}

/// Decodes the WIT of `bytes` (a component or an encoded WIT package) with the newer
/// decoder and brings it down to witmesh's model.
pub fn decode(bytes: &[u8]) -> Result<Lowered, AsyncAbiError> {
    let decoded =
        new::decoding::decode(bytes).map_err(|e| AsyncAbiError::Decode(format!("{e:#}")))?;
    let mut lower = Lower::new();
    let r = decoded.resolve();
    let resolve = lower.resolve(r)?;
    // Keyed by the name the linker sees: an interface's id, or an inline interface's name.
    let mut async_funcs = BTreeSet::new();
    for (_, world) in r.worlds.iter() {
        for (key, item) in world.imports.iter().chain(world.exports.iter()) {
            let new::WorldItem::Interface { id, .. } = item else {
                continue;
            };
            let instance = resolve.name_world_key(&lower.key(key));
            for f in r.interfaces[*id].functions.values() {
                if f.kind.is_async() {
                    async_funcs.insert((instance.clone(), f.name.clone()));
                }
            }
        }
    }
    Ok(Lowered {
        package: lower.package(decoded.package()),
        resolve,
        async_funcs,
    })
}

/// Rebuilds a resolve in witmesh's model. Arenas are filled in the same order, so an item
/// keeps its index; this holds the new arenas' ids, to make an old id into a new one.
struct Lower {
    worlds: u32,
    interfaces: u32,
    types: u32,
    packages: u32,
}

fn arena_id<T>(arena: &Arena<T>) -> u32 {
    DefaultArenaBehavior::<T>::arena_id(arena.next_id())
}

impl Lower {
    fn new() -> Self {
        Lower {
            worlds: 0,
            interfaces: 0,
            types: 0,
            packages: 0,
        }
    }

    fn map<A, B>(arena: u32, id: Id<A>) -> Id<B> {
        DefaultArenaBehavior::<B>::new_id(arena, id.index())
    }

    fn world(&self, id: new::WorldId) -> old::WorldId {
        Self::map(self.worlds, id)
    }

    fn interface(&self, id: new::InterfaceId) -> old::InterfaceId {
        Self::map(self.interfaces, id)
    }

    fn ty_id(&self, id: new::TypeId) -> old::TypeId {
        Self::map(self.types, id)
    }

    fn package(&self, id: new::PackageId) -> old::PackageId {
        Self::map(self.packages, id)
    }

    fn resolve(&mut self, r: &new::Resolve) -> Result<old::Resolve, AsyncAbiError> {
        let mut out = old::Resolve::default();
        self.worlds = arena_id(&out.worlds);
        self.interfaces = arena_id(&out.interfaces);
        self.types = arena_id(&out.types);
        self.packages = arena_id(&out.packages);
        for (_, t) in r.types.iter() {
            let t = self.typedef(t)?;
            out.types.alloc(t);
        }
        for (_, i) in r.interfaces.iter() {
            let i = self.iface(i)?;
            out.interfaces.alloc(i);
        }
        for (_, w) in r.worlds.iter() {
            let w = self.world_def(w)?;
            out.worlds.alloc(w);
        }
        for (_, p) in r.packages.iter() {
            out.packages.alloc(old::Package {
                name: package_name(&p.name),
                docs: docs(&p.docs),
                interfaces: p
                    .interfaces
                    .iter()
                    .map(|(n, i)| (n.clone(), self.interface(*i)))
                    .collect(),
                worlds: p
                    .worlds
                    .iter()
                    .map(|(n, w)| (n.clone(), self.world(*w)))
                    .collect(),
            });
        }
        out.package_names = r
            .package_names
            .iter()
            .map(|(n, p)| (package_name(n), self.package(*p)))
            .collect();
        out.features = r.features.clone();
        out.all_features = r.all_features;
        Ok(out)
    }

    fn ty(&self, t: &new::Type) -> Result<old::Type, AsyncAbiError> {
        Ok(match t {
            new::Type::Bool => old::Type::Bool,
            new::Type::U8 => old::Type::U8,
            new::Type::U16 => old::Type::U16,
            new::Type::U32 => old::Type::U32,
            new::Type::U64 => old::Type::U64,
            new::Type::S8 => old::Type::S8,
            new::Type::S16 => old::Type::S16,
            new::Type::S32 => old::Type::S32,
            new::Type::S64 => old::Type::S64,
            new::Type::F32 => old::Type::F32,
            new::Type::F64 => old::Type::F64,
            new::Type::Char => old::Type::Char,
            new::Type::String => old::Type::String,
            new::Type::ErrorContext => {
                return Err(AsyncAbiError::Unsupported {
                    name: "<anonymous>".into(),
                    kind: "error-context",
                })
            }
            new::Type::Id(id) => old::Type::Id(self.ty_id(*id)),
        })
    }

    fn opt(&self, t: &Option<new::Type>) -> Result<Option<old::Type>, AsyncAbiError> {
        t.as_ref().map(|t| self.ty(t)).transpose()
    }

    fn typedef(&self, t: &new::TypeDef) -> Result<old::TypeDef, AsyncAbiError> {
        let unsupported = |kind| AsyncAbiError::Unsupported {
            name: t.name.clone().unwrap_or_else(|| "<anonymous>".into()),
            kind,
        };
        let kind = match &t.kind {
            new::TypeDefKind::Record(r) => old::TypeDefKind::Record(old::Record {
                fields: r
                    .fields
                    .iter()
                    .map(|f| {
                        Ok(old::Field {
                            name: f.name.clone(),
                            ty: self.ty(&f.ty)?,
                            docs: docs(&f.docs),
                        })
                    })
                    .collect::<Result<_, AsyncAbiError>>()?,
            }),
            new::TypeDefKind::Resource => old::TypeDefKind::Resource,
            new::TypeDefKind::Handle(new::Handle::Own(id)) => {
                old::TypeDefKind::Handle(old::Handle::Own(self.ty_id(*id)))
            }
            new::TypeDefKind::Handle(new::Handle::Borrow(id)) => {
                old::TypeDefKind::Handle(old::Handle::Borrow(self.ty_id(*id)))
            }
            new::TypeDefKind::Flags(f) => old::TypeDefKind::Flags(old::Flags {
                flags: f
                    .flags
                    .iter()
                    .map(|f| old::Flag {
                        name: f.name.clone(),
                        docs: docs(&f.docs),
                    })
                    .collect(),
            }),
            new::TypeDefKind::Tuple(t) => old::TypeDefKind::Tuple(old::Tuple {
                types: t
                    .types
                    .iter()
                    .map(|t| self.ty(t))
                    .collect::<Result<_, _>>()?,
            }),
            new::TypeDefKind::Variant(v) => old::TypeDefKind::Variant(old::Variant {
                cases: v
                    .cases
                    .iter()
                    .map(|c| {
                        Ok(old::Case {
                            name: c.name.clone(),
                            ty: self.opt(&c.ty)?,
                            docs: docs(&c.docs),
                        })
                    })
                    .collect::<Result<_, AsyncAbiError>>()?,
            }),
            new::TypeDefKind::Enum(e) => old::TypeDefKind::Enum(old::Enum {
                cases: e
                    .cases
                    .iter()
                    .map(|c| old::EnumCase {
                        name: c.name.clone(),
                        docs: docs(&c.docs),
                    })
                    .collect(),
            }),
            new::TypeDefKind::Option(t) => old::TypeDefKind::Option(self.ty(t)?),
            new::TypeDefKind::Result(r) => old::TypeDefKind::Result(old::Result_ {
                ok: self.opt(&r.ok)?,
                err: self.opt(&r.err)?,
            }),
            new::TypeDefKind::List(t) => old::TypeDefKind::List(self.ty(t)?),
            new::TypeDefKind::Future(t) => old::TypeDefKind::Future(self.opt(t)?),
            new::TypeDefKind::Stream(t) => old::TypeDefKind::Stream(old::Stream {
                element: self.opt(t)?,
                end: None,
            }),
            new::TypeDefKind::Type(t) => old::TypeDefKind::Type(self.ty(t)?),
            new::TypeDefKind::Map(..) => return Err(unsupported("map")),
            new::TypeDefKind::FixedLengthList(..) => return Err(unsupported("fixed-length list")),
            new::TypeDefKind::Unknown => old::TypeDefKind::Unknown,
        };
        Ok(old::TypeDef {
            name: t.name.clone(),
            kind,
            owner: match t.owner {
                new::TypeOwner::World(w) => old::TypeOwner::World(self.world(w)),
                new::TypeOwner::Interface(i) => old::TypeOwner::Interface(self.interface(i)),
                new::TypeOwner::None => old::TypeOwner::None,
            },
            docs: docs(&t.docs),
            stability: stability(&t.stability),
        })
    }

    fn function(&self, f: &new::Function) -> Result<old::Function, AsyncAbiError> {
        let kind = match f.kind {
            new::FunctionKind::Freestanding | new::FunctionKind::AsyncFreestanding => {
                old::FunctionKind::Freestanding
            }
            new::FunctionKind::Method(t) | new::FunctionKind::AsyncMethod(t) => {
                old::FunctionKind::Method(self.ty_id(t))
            }
            new::FunctionKind::Static(t) | new::FunctionKind::AsyncStatic(t) => {
                old::FunctionKind::Static(self.ty_id(t))
            }
            new::FunctionKind::Constructor(t) => old::FunctionKind::Constructor(self.ty_id(t)),
        };
        Ok(old::Function {
            name: f.name.clone(),
            kind,
            params: f
                .params
                .iter()
                .map(|p| Ok((p.name.clone(), self.ty(&p.ty)?)))
                .collect::<Result<_, AsyncAbiError>>()?,
            results: match &f.result {
                Some(t) => old::Results::Anon(self.ty(t)?),
                None => old::Results::Named(Vec::new()),
            },
            docs: docs(&f.docs),
            stability: stability(&f.stability),
        })
    }

    fn iface(&self, i: &new::Interface) -> Result<old::Interface, AsyncAbiError> {
        Ok(old::Interface {
            name: i.name.clone(),
            types: i
                .types
                .iter()
                .map(|(n, t)| (n.clone(), self.ty_id(*t)))
                .collect(),
            functions: i
                .functions
                .iter()
                .map(|(n, f)| Ok((n.clone(), self.function(f)?)))
                .collect::<Result<_, AsyncAbiError>>()?,
            docs: docs(&i.docs),
            stability: stability(&i.stability),
            package: i.package.map(|p| self.package(p)),
        })
    }

    fn key(&self, k: &new::WorldKey) -> old::WorldKey {
        match k {
            new::WorldKey::Name(n) => old::WorldKey::Name(n.clone()),
            new::WorldKey::Interface(i) => old::WorldKey::Interface(self.interface(*i)),
        }
    }

    fn item(&self, item: &new::WorldItem) -> Result<old::WorldItem, AsyncAbiError> {
        Ok(match item {
            new::WorldItem::Interface {
                id, stability: s, ..
            } => old::WorldItem::Interface {
                id: self.interface(*id),
                stability: stability(s),
            },
            new::WorldItem::Function(f) => old::WorldItem::Function(self.function(f)?),
            new::WorldItem::Type { id, .. } => old::WorldItem::Type(self.ty_id(*id)),
        })
    }

    fn items<'a, C>(
        &self,
        items: impl Iterator<Item = (&'a new::WorldKey, &'a new::WorldItem)>,
    ) -> Result<C, AsyncAbiError>
    where
        C: FromIterator<(old::WorldKey, old::WorldItem)>,
    {
        items
            .map(|(k, v)| Ok((self.key(k), self.item(v)?)))
            .collect()
    }

    fn world_def(&self, w: &new::World) -> Result<old::World, AsyncAbiError> {
        Ok(old::World {
            name: w.name.clone(),
            imports: self.items(w.imports.iter())?,
            exports: self.items(w.exports.iter())?,
            package: w.package.map(|p| self.package(p)),
            docs: docs(&w.docs),
            stability: stability(&w.stability),
            includes: w
                .includes
                .iter()
                .map(|i| (stability(&i.stability), self.world(i.id)))
                .collect(),
            include_names: w
                .includes
                .iter()
                .map(|i| {
                    i.names
                        .iter()
                        .map(|n| old::IncludeName {
                            name: n.name.clone(),
                            as_: n.as_.clone(),
                        })
                        .collect()
                })
                .collect(),
        })
    }
}

fn package_name(n: &new::PackageName) -> old::PackageName {
    old::PackageName {
        namespace: n.namespace.clone(),
        name: n.name.clone(),
        version: n.version.clone(),
    }
}

fn docs(d: &new::Docs) -> old::Docs {
    old::Docs {
        contents: d.contents.clone(),
    }
}

fn stability(s: &new::Stability) -> old::Stability {
    match s {
        new::Stability::Unknown => old::Stability::Unknown,
        new::Stability::Stable { since, deprecated } => old::Stability::Stable {
            since: since.clone(),
            deprecated: deprecated.clone(),
        },
        new::Stability::Unstable {
            feature,
            deprecated,
        } => old::Stability::Unstable {
            feature: feature.clone(),
            deprecated: deprecated.clone(),
        },
    }
}
