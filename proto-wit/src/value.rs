//! The dynamic value model: one Rust value for any WIT value.
//!
//! Values are positional (record fields, variant cases, enum cases and flags by index), so the
//! codec never compares names; the [`crate::Ty`] they belong to supplies names to the text forms.

use bytes::Bytes;

/// A WIT value. Which variant is valid for which [`crate::Ty`] is checked by the codec.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `s16`
    S16(i16),
    /// `s32`
    S32(i32),
    /// `s64`
    S64(i64),
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<u8>`, kept as bytes rather than one value per element.
    Bytes(Bytes),
    /// `list<T>` for any other `T`.
    List(Vec<Value>),
    /// `record`: field values in declaration order.
    Record(Vec<Value>),
    /// `tuple`
    Tuple(Vec<Value>),
    /// `variant`: the case index and its payload, if the case has one.
    Variant(u32, Option<Box<Value>>),
    /// `enum`: the case index.
    Enum(u32),
    /// `option<T>`
    Option(Option<Box<Value>>),
    /// `result<T, E>`: each side's payload when the type has one.
    Result(Result<Option<Box<Value>>, Option<Box<Value>>>),
    /// `flags`: the set flag indexes, ascending.
    Flags(Vec<u32>),
    /// `own<R>` or `borrow<R>`: the opaque handle bytes chosen by the resource's owner.
    Handle(Bytes),
    /// `future<T>`
    Future(FutureValue),
    /// `stream<T>`
    Stream(StreamValue),
}

/// The inline part of a `future<T>`.
#[derive(Clone, Debug, PartialEq)]
pub enum FutureValue {
    /// The value arrives later on the future's async path.
    Pending,
    /// The value is already here (`None` for a `future` without payload).
    Ready(Option<Box<Value>>),
}

/// The inline part of a `stream<T>`.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamValue {
    /// Chunks arrive later on the stream's async path.
    Pending,
    /// One ready chunk, as a `list<T>` value ([`Value::Bytes`] or [`Value::List`]).
    Ready(Box<Value>),
}

impl Value {
    /// A short name for the kind of this value, used in error messages.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::S8(_) => "s8",
            Value::S16(_) => "s16",
            Value::S32(_) => "s32",
            Value::S64(_) => "s64",
            Value::U8(_) => "u8",
            Value::U16(_) => "u16",
            Value::U32(_) => "u32",
            Value::U64(_) => "u64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Char(_) => "char",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Record(_) => "record",
            Value::Tuple(_) => "tuple",
            Value::Variant(..) => "variant",
            Value::Enum(_) => "enum",
            Value::Option(_) => "option",
            Value::Result(_) => "result",
            Value::Flags(_) => "flags",
            Value::Handle(_) => "handle",
            Value::Future(_) => "future",
            Value::Stream(_) => "stream",
        }
    }
}

/// Builds a `string` value.
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
