//! The typed sections of a witmesh config file, grouped by concern.

mod component;
mod service;
mod transport;

pub use component::*;
pub use service::*;
pub use transport::*;
