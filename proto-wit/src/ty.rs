//! The resolved type tree: a self-contained copy of a WIT type that the codec walks without
//! consulting a `wit_parser::Resolve` on every value.
//!
//! WIT has no recursive types, so a tree (with `Arc` sharing) represents every type exactly.

use std::fmt;
use std::sync::Arc;

use wit_parser::{Handle, Resolve, Type, TypeDefKind, TypeId};

/// A WIT value type, resolved through aliases.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `s16`
    S16,
    /// `s32`
    S32,
    /// `s64`
    S64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`; `list<u8>` is carried as [`crate::Value::Bytes`].
    List(Arc<Ty>),
    /// `record`
    Record(Arc<RecordTy>),
    /// `tuple<...>`
    Tuple(Arc<[Ty]>),
    /// `variant`
    Variant(Arc<VariantTy>),
    /// `enum`
    Enum(Arc<EnumTy>),
    /// `option<T>`
    Option(Arc<Ty>),
    /// `result<T, E>`
    Result(Arc<ResultTy>),
    /// `flags`
    Flags(Arc<FlagsTy>),
    /// `own<R>`; the string is the resource's name.
    Own(Arc<str>),
    /// `borrow<R>`; the string is the resource's name.
    Borrow(Arc<str>),
    /// `future<T>` (or `future` without a payload).
    Future(Option<Arc<Ty>>),
    /// `stream<T>` (or `stream` without elements).
    Stream(Option<Arc<Ty>>),
}

/// A record's name and fields, in declaration (and wire) order.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordTy {
    /// The WIT name, if the record is named (every WIT record is).
    pub name: Option<String>,
    /// Field names and types in order.
    pub fields: Vec<(String, Ty)>,
}

/// A variant's name and cases, in declaration order (the discriminant is the index).
#[derive(Clone, Debug, PartialEq)]
pub struct VariantTy {
    /// The WIT name.
    pub name: Option<String>,
    /// Case names and optional payload types.
    pub cases: Vec<(String, Option<Ty>)>,
}

/// An enum's name and cases.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumTy {
    /// The WIT name.
    pub name: Option<String>,
    /// Case names; the discriminant is the index.
    pub cases: Vec<String>,
}

/// The payload types of a `result`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultTy {
    /// The `ok` payload, if any.
    pub ok: Option<Ty>,
    /// The `err` payload, if any.
    pub err: Option<Ty>,
}

/// A flags type's name and flag names; flag `i` is bit `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct FlagsTy {
    /// The WIT name.
    pub name: Option<String>,
    /// Flag names in bit order.
    pub flags: Vec<String>,
}

/// A WIT type that the wRPC 0.29 wire has no encoding for (`map`, fixed-length lists and
/// `error-context` came to the component model after it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{shown}` is a {kind}, which the wRPC 0.29 wire cannot carry")]
pub struct UnsupportedType {
    /// What kind of type it is: `map`, `fixed-length list` or `error-context`.
    pub kind: &'static str,
    /// The type as written, or its name.
    pub shown: String,
}

impl FlagsTy {
    /// Bytes on the wire: one bit per flag, rounded up to whole bytes.
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.flags.len().div_ceil(8)
    }
}

impl Ty {
    /// Whether this type or any type inside it satisfies `pred`.
    pub fn contains(&self, pred: &impl Fn(&Ty) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        match self {
            Ty::List(t) | Ty::Option(t) => t.contains(pred),
            Ty::Record(r) => r.fields.iter().any(|(_, t)| t.contains(pred)),
            Ty::Tuple(ts) => ts.iter().any(|t| t.contains(pred)),
            Ty::Variant(v) => v
                .cases
                .iter()
                .any(|(_, t)| t.as_ref().is_some_and(|t| t.contains(pred))),
            Ty::Result(r) => {
                r.ok.as_ref().is_some_and(|t| t.contains(pred))
                    || r.err.as_ref().is_some_and(|t| t.contains(pred))
            }
            _ => false,
        }
    }

    /// Whether a value of this type holds a resource handle, a future or a stream anywhere:
    /// things that only mean something between connected wRPC peers, not in a JSON document.
    #[must_use]
    pub fn has_handles(&self) -> bool {
        self.contains(&|t| {
            matches!(
                t,
                Ty::Own(_) | Ty::Borrow(_) | Ty::Future(_) | Ty::Stream(_)
            )
        })
    }

    /// Lowers a `wit_parser` type into a resolved tree, or says which part the wire lacks.
    pub fn from_wit(resolve: &Resolve, ty: &Type) -> Result<Ty, UnsupportedType> {
        Ok(match ty {
            Type::Bool => Ty::Bool,
            Type::U8 => Ty::U8,
            Type::U16 => Ty::U16,
            Type::U32 => Ty::U32,
            Type::U64 => Ty::U64,
            Type::S8 => Ty::S8,
            Type::S16 => Ty::S16,
            Type::S32 => Ty::S32,
            Type::S64 => Ty::S64,
            Type::F32 => Ty::F32,
            Type::F64 => Ty::F64,
            Type::Char => Ty::Char,
            Type::String => Ty::String,
            Type::ErrorContext => {
                return Err(UnsupportedType {
                    kind: "error-context",
                    shown: "error-context".into(),
                })
            }
            Type::Id(id) => Self::from_wit_id(resolve, *id)?,
        })
    }

    fn from_wit_id(resolve: &Resolve, id: TypeId) -> Result<Ty, UnsupportedType> {
        let def = &resolve.types[id];
        let name = def.name.clone();
        let lower = |t: &Type| Ty::from_wit(resolve, t);
        let lower_opt = |t: &Option<Type>| t.as_ref().map(lower).transpose();
        let unsupported = |kind: &'static str, shown: String| UnsupportedType {
            kind,
            shown: name.clone().unwrap_or(shown),
        };
        Ok(match &def.kind {
            TypeDefKind::Type(t) => lower(t)?,
            TypeDefKind::Record(r) => Ty::Record(Arc::new(RecordTy {
                name,
                fields: r
                    .fields
                    .iter()
                    .map(|f| Ok((f.name.clone(), lower(&f.ty)?)))
                    .collect::<Result<_, UnsupportedType>>()?,
            })),
            TypeDefKind::Tuple(t) => {
                Ty::Tuple(t.types.iter().map(lower).collect::<Result<_, _>>()?)
            }
            TypeDefKind::Variant(v) => Ty::Variant(Arc::new(VariantTy {
                name,
                cases: v
                    .cases
                    .iter()
                    .map(|c| Ok((c.name.clone(), lower_opt(&c.ty)?)))
                    .collect::<Result<_, UnsupportedType>>()?,
            })),
            TypeDefKind::Enum(e) => Ty::Enum(Arc::new(EnumTy {
                name,
                cases: e.cases.iter().map(|c| c.name.clone()).collect(),
            })),
            TypeDefKind::Option(t) => Ty::Option(Arc::new(lower(t)?)),
            TypeDefKind::Result(r) => Ty::Result(Arc::new(ResultTy {
                ok: lower_opt(&r.ok)?,
                err: lower_opt(&r.err)?,
            })),
            TypeDefKind::Flags(f) => Ty::Flags(Arc::new(FlagsTy {
                name,
                flags: f.flags.iter().map(|f| f.name.clone()).collect(),
            })),
            TypeDefKind::List(t) => Ty::List(Arc::new(lower(t)?)),
            TypeDefKind::Map(k, v) => {
                return Err(unsupported(
                    "map",
                    format!("map<{}, {}>", lower(k)?, lower(v)?),
                ))
            }
            TypeDefKind::FixedLengthList(t, n) => {
                return Err(unsupported(
                    "fixed-length list",
                    format!("list<{}, {n}>", lower(t)?),
                ))
            }
            TypeDefKind::Handle(Handle::Own(r)) => Ty::Own(resource_name(resolve, *r)),
            TypeDefKind::Handle(Handle::Borrow(r)) => Ty::Borrow(resource_name(resolve, *r)),
            TypeDefKind::Future(t) => Ty::Future(lower_opt(t)?.map(Arc::new)),
            TypeDefKind::Stream(t) => Ty::Stream(lower_opt(t)?.map(Arc::new)),
            // A bare resource used as a value type means an owned handle to it.
            TypeDefKind::Resource => Ty::Own(resource_name(resolve, id)),
            // `Unknown` exists only before resolution; a resolved package never contains it.
            TypeDefKind::Unknown => Ty::Tuple(Arc::from([])),
        })
    }

    /// A short name for the kind of this type, used in error messages.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::S8 => "s8",
            Ty::S16 => "s16",
            Ty::S32 => "s32",
            Ty::S64 => "s64",
            Ty::U8 => "u8",
            Ty::U16 => "u16",
            Ty::U32 => "u32",
            Ty::U64 => "u64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::Char => "char",
            Ty::String => "string",
            Ty::List(_) => "list",
            Ty::Record(_) => "record",
            Ty::Tuple(_) => "tuple",
            Ty::Variant(_) => "variant",
            Ty::Enum(_) => "enum",
            Ty::Option(_) => "option",
            Ty::Result(_) => "result",
            Ty::Flags(_) => "flags",
            Ty::Own(_) => "own",
            Ty::Borrow(_) => "borrow",
            Ty::Future(_) => "future",
            Ty::Stream(_) => "stream",
        }
    }

    /// Whether this is `list<u8>`, which travels as raw bytes.
    #[must_use]
    pub fn is_bytes(&self) -> bool {
        matches!(self, Ty::List(t) if **t == Ty::U8)
    }
}

fn resource_name(resolve: &Resolve, mut id: TypeId) -> Arc<str> {
    // Follow `type r = other-r` aliases to the resource definition itself.
    while let TypeDefKind::Type(Type::Id(next)) = resolve.types[id].kind {
        id = next;
    }
    Arc::from(resolve.types[id].name.as_deref().unwrap_or("resource"))
}

/// WIT syntax for the type: named types print their name, anonymous ones their structure.
impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt(f: &mut fmt::Formatter<'_>, t: Option<&Ty>) -> fmt::Result {
            match t {
                Some(t) => write!(f, "{t}"),
                None => f.write_str("_"),
            }
        }
        match self {
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Record(r) => f.write_str(r.name.as_deref().unwrap_or("record")),
            Ty::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            Ty::Variant(v) => f.write_str(v.name.as_deref().unwrap_or("variant")),
            Ty::Enum(e) => f.write_str(e.name.as_deref().unwrap_or("enum")),
            Ty::Flags(x) => f.write_str(x.name.as_deref().unwrap_or("flags")),
            Ty::Option(t) => write!(f, "option<{t}>"),
            Ty::Result(r) => match (&r.ok, &r.err) {
                (None, None) => f.write_str("result"),
                (Some(ok), None) => write!(f, "result<{ok}>"),
                (ok, Some(err)) => {
                    f.write_str("result<")?;
                    opt(f, ok.as_ref())?;
                    write!(f, ", {err}>")
                }
            },
            Ty::Own(r) => f.write_str(r),
            Ty::Borrow(r) => write!(f, "borrow<{r}>"),
            Ty::Future(None) => f.write_str("future"),
            Ty::Future(Some(t)) => write!(f, "future<{t}>"),
            Ty::Stream(None) => f.write_str("stream"),
            Ty::Stream(Some(t)) => write!(f, "stream<{t}>"),
            scalar => f.write_str(scalar.kind_name()),
        }
    }
}
