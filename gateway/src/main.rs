//! The `witmesh` binary.
fn main() {}
