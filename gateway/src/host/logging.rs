//! `wasi:logging/logging@0.1.0-draft`: a component's log calls become tracing events tagged
//! with the component's name, at the level it asked for.

use wasmtime::component::{Linker, Val};

use super::state::CallState;

/// The interface witmesh provides.
pub const LOGGING_INSTANCE: &str = "wasi:logging/logging@0.1.0-draft";

/// Defines `wasi:logging/logging.log` in `linker`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(LOGGING_INSTANCE)?;
    inst.func_new("log", |store, _ty, params, _results| {
        let component = &*store.data().component;
        let text = |i: usize| match params.get(i) {
            Some(Val::String(s)) => s.as_str(),
            _ => "",
        };
        let (context, message) = (text(1), text(2));
        match params.first() {
            Some(Val::Enum(level)) => match level.as_str() {
                "trace" => tracing::trace!(target: "witmesh::component", component, context, "{message}"),
                "debug" => tracing::debug!(target: "witmesh::component", component, context, "{message}"),
                "info" => tracing::info!(target: "witmesh::component", component, context, "{message}"),
                "warn" => tracing::warn!(target: "witmesh::component", component, context, "{message}"),
                _ => tracing::error!(target: "witmesh::component", component, context, level = level.as_str(), "{message}"),
            },
            _ => tracing::info!(target: "witmesh::component", component, context, "{message}"),
        }
        Ok(())
    })?;
    Ok(())
}
