//! Text forms of values: WAVE (as `wasmtime --invoke` and wasmCloud tooling write them) and
//! JSON (for the HTTP gateway and any language), plus JSON Schema for each WIT type.

pub mod json;
pub mod schema;
pub mod wave;

#[cfg(test)]
mod tests;
