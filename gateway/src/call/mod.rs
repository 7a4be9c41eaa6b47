//! The call's vocabulary, shared by every layer above: where a call goes ([`target`]), why it
//! failed ([`class`], [`error`]), the byte streams it may carry ([`stream`]), the one deadline
//! race ([`deadline`]), and the two seams through which the component host and the router
//! meet without importing each other ([`Forward`] for a component's imports, [`Local`] for
//! the router's in-process providers). Nothing here does I/O beyond reading a stream.

pub mod class;
pub mod deadline;
pub mod error;
pub mod forward;
pub mod local;
pub mod stream;
pub mod target;

pub use class::{bounded, Class, FailureKind};
pub use error::{AttemptError, CallFailure, ForwardError, RemoteFailure};
pub use forward::{Forward, Importer};
pub use local::{Local, LocalCall, LocalExport, LocalFailure, LocalStreamCall};
pub use stream::{ByteStream, StreamAnswer};
pub use target::{Address, Issuer, Provider, Target};
