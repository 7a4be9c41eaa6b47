//! The typed sections of a witmesh config file, grouped by concern.

mod component;
mod mesh;
mod service;
mod transport;

pub use component::*;
pub use mesh::*;
pub use service::*;
pub use transport::*;
