//! WIT loading and lookup: from files or compiled components to functions named as wRPC names
//! them.

mod inspect;
mod load;
mod lookup;
mod print;
pub mod reflect;
pub mod version;

pub use inspect::{inspect, Inspection, InterfaceReport, PackageReport, WorldItem, WorldReport};
pub use load::{WitFeatures, WitSet};
pub use lookup::{wrpc_func_name, Func};

/// witmesh's own package, `witmesh:mesh` (health and discovery), which every sidecar serves.
/// It has no dependencies, so it loads on its own with [`WitSet::from_wit_str`].
pub const MESH_WIT: &str = include_str!("../../wit/witmesh.wit");

/// Why WIT could not be loaded or a name could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum WitError {
    /// The path does not exist or could not be read.
    #[error("cannot read WIT from `{path}`: {reason}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O failure.
        reason: String,
    },
    /// The WIT text (or a component's embedded WIT) is invalid.
    #[error("invalid WIT in `{path}`: {reason}")]
    Parse {
        /// The path given.
        path: String,
        /// The parser's explanation, with file and line.
        reason: String,
    },
    /// A component's embedded WIT could not be decoded.
    #[error("cannot read the WIT of the component: {reason}")]
    Component {
        /// The decoder's explanation.
        reason: String,
    },
    /// A function's signature uses a type the wire cannot carry.
    #[error("`{instance}.{func}` cannot be called over wRPC: {reason}")]
    Unsupported {
        /// The function's instance.
        instance: String,
        /// The function.
        func: String,
        /// The type and why.
        reason: crate::ty::UnsupportedType,
    },
    /// No interface or world has this wRPC instance name.
    #[error("unknown instance `{instance}` (known: {known})")]
    UnknownInstance {
        /// The name asked for.
        instance: String,
        /// Every instance name the WIT defines.
        known: String,
    },
    /// The instance has no function of this wRPC name.
    #[error("unknown function `{func}` in `{instance}` (known: {known})")]
    UnknownFunction {
        /// The instance searched.
        instance: String,
        /// The function asked for.
        func: String,
        /// The instance's functions, by wRPC name.
        known: String,
    },
    /// `INSTANCE.FUNC` could not be split into a known instance and function.
    #[error("`{target}` names no function: expected INSTANCE.FUNC such as `{example}`")]
    BadTarget {
        /// The text given.
        target: String,
        /// A valid example from the loaded WIT.
        example: String,
    },
}
