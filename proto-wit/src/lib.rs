//! witmesh-proto: everything witmesh knows about WIT and the wRPC value encoding.
//!
//! - [`wit`] loads WIT (directories, single files, compiled components) and resolves functions by
//!   their wRPC names.
//! - [`ty`] is the resolved, self-contained type tree the codec walks.
//! - [`value`] is the dynamic value model covering every WIT type.
//! - [`codec`] encodes and decodes values byte-exactly as wRPC 0.29 peers do, incrementally and
//!   with bounded resources.
//! - [`text`] maps values to and from WAVE and JSON, and describes types as JSON Schema.

pub mod codec;
pub mod sample;
pub mod text;
pub mod ty;
pub mod value;
pub mod wit;

#[cfg(test)]
mod testgen;

pub use codec::{DecodeError, EncodeError, Limits};
pub use ty::{Ty, UnsupportedType};
pub use value::Value;
pub use wit::{Func, WitError, WitSet};
