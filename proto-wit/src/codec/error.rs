//! Typed codec errors that carry the path of the offending value.

use std::fmt;

/// One step into a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    /// A top-level parameter or result, by label (`param name`, `result`).
    Top(String),
    /// A record field.
    Field(String),
    /// A list, tuple or stream element.
    Index(u64),
    /// A variant case's payload.
    Case(String),
    /// The payload of `option::some`.
    Some,
    /// The payload of `result::ok`.
    Ok,
    /// The payload of `result::err`.
    Err,
    /// The value of a ready future.
    Ready,
}

impl PathSeg {
    /// The step naming top-level value `i`: its label, or `value i` when there is none.
    #[must_use]
    pub fn top(labels: &[String], i: usize) -> PathSeg {
        PathSeg::Top(
            labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("value {i}")),
        )
    }
}

/// Where in a call's values an error happened, outermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValuePath(pub Vec<PathSeg>);

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Top(label) => f.write_str(label)?,
                PathSeg::Field(name) if i == 0 => f.write_str(name)?,
                PathSeg::Field(name) => write!(f, ".{name}")?,
                PathSeg::Index(n) => write!(f, "[{n}]")?,
                PathSeg::Case(name) => write!(f, "<{name}>")?,
                PathSeg::Some => f.write_str("<some>")?,
                PathSeg::Ok => f.write_str("<ok>")?,
                PathSeg::Err => f.write_str("<err>")?,
                PathSeg::Ready => f.write_str("<ready>")?,
            }
        }
        Ok(())
    }
}

/// What was wrong with the bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The input ended inside a value; `needed` more bytes would let decoding continue.
    #[error("input ends inside the value ({needed} more byte(s) needed at least)")]
    Truncated {
        /// Bytes missing at the least.
        needed: usize,
    },
    /// A LEB128 integer has more bits than its type holds.
    #[error("LEB128 value overflows {ty}")]
    LebOverflow {
        /// The integer type being read (`u32` for lengths and discriminants).
        ty: &'static str,
    },
    /// A `string` (or `char`) is not valid UTF-8.
    #[error("invalid UTF-8 in {what}")]
    InvalidUtf8 {
        /// `string` or `char`.
        what: &'static str,
    },
    /// A length exceeds its configured limit.
    #[error("{what} of {len} exceeds the limit of {max}; raise the limit or use a stream")]
    TooLong {
        /// What was measured (`string length`, `list length`, `handle length`).
        what: &'static str,
        /// The length on the wire.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Values nest deeper than the depth limit.
    #[error("values nest deeper than the limit of {max}")]
    TooDeep {
        /// The limit.
        max: u32,
    },
    /// The call's bytes exceed the per-call limit.
    #[error("the call's values exceed the limit of {max} bytes")]
    CallTooLarge {
        /// The limit.
        max: usize,
    },
    /// A variant or enum discriminant names no case.
    #[error("{what} discriminant {value} out of range ({count} cases)")]
    BadDiscriminant {
        /// `variant` or `enum`.
        what: &'static str,
        /// The discriminant on the wire.
        value: u32,
        /// How many cases the type has.
        count: usize,
    },
    /// A one-byte tag (bool, option, result, future) has a value other than 0 or 1.
    #[error("{what} byte is {value:#04x}, expected 0 or 1")]
    BadTag {
        /// `bool`, `option`, `result` or `future`.
        what: &'static str,
        /// The byte on the wire.
        value: u8,
    },
    /// A flags value sets bits beyond the declared flags.
    #[error("flags set undeclared bits ({flags} flags declared)")]
    UnknownFlags {
        /// How many flags the type declares.
        flags: usize,
    },
    /// Bytes remain after the last value.
    #[error("{0} trailing byte(s) after the last value")]
    TrailingBytes(usize),
}

/// A decoding failure and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Path of the value being decoded.
    pub path: ValuePath,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind) -> Self {
        DecodeError {
            path: ValuePath::default(),
            kind,
        }
    }

    /// Prefixes the path with an enclosing step (errors are built innermost first).
    pub(crate) fn within(mut self, seg: PathSeg) -> Self {
        self.path.0.insert(0, seg);
        self
    }

    /// Whether more input could let decoding succeed.
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::Truncated { .. })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.0.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for DecodeError {}

/// What was wrong with a value given for encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeErrorKind {
    /// The value's kind does not match the type.
    #[error("expected {expected}, found a {found} value")]
    TypeMismatch {
        /// The WIT type.
        expected: String,
        /// The kind of value given.
        found: &'static str,
    },
    /// A record, tuple or top-level value list has the wrong number of members.
    #[error("expected {expected} value(s), found {found}")]
    Arity {
        /// Members the type has.
        expected: usize,
        /// Members given.
        found: usize,
    },
    /// A case, enum or flag index is out of range.
    #[error("{what} index {index} out of range ({count} declared)")]
    BadIndex {
        /// `variant case`, `enum case` or `flag`.
        what: &'static str,
        /// The index given.
        index: u32,
        /// How many the type declares.
        count: usize,
    },
    /// A payload is present where the type has none, or missing where it has one.
    #[error("payload {0}")]
    Payload(&'static str),
    /// A length does not fit the wire's u32.
    #[error("length {0} does not fit in u32")]
    TooLong(usize),
}

/// An encoding failure and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// Path of the value being encoded.
    pub path: ValuePath,
    /// What was wrong.
    pub kind: EncodeErrorKind,
}

impl EncodeError {
    pub(crate) fn new(kind: EncodeErrorKind) -> Self {
        EncodeError {
            path: ValuePath::default(),
            kind,
        }
    }

    pub(crate) fn within(mut self, seg: PathSeg) -> Self {
        self.path.0.insert(0, seg);
        self
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.0.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for EncodeError {}
