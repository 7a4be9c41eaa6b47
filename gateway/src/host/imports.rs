//! Which of a component's imports nothing in this host provides.

use wasmtime::component::Component;
use wasmtime::Engine;

use super::lattice::LATTICE_INSTANCE;
use super::logging::LOGGING_INSTANCE;

/// WASI 0.2 packages wasmtime-wasi provides (every 0.2.x version links to them).
const WASI_P2_PACKAGES: &[&str] = &[
    "io",
    "clocks",
    "random",
    "cli",
    "filesystem",
    "sockets",
    "http",
];

/// Whether this host links `name` (an import instance name such as `wasi:io/streams@0.2.0`).
fn provided(name: &str) -> bool {
    if name == LOGGING_INSTANCE || name == LATTICE_INSTANCE {
        return true;
    }
    let Some(rest) = name.strip_prefix("wasi:") else {
        return false;
    };
    let Some((package, tail)) = rest.split_once('/') else {
        return false;
    };
    let version = tail.split_once('@').map(|(_, v)| v);
    WASI_P2_PACKAGES.contains(&package) && version.is_some_and(|v| v.starts_with("0.2."))
}

/// Every import of `component` that this host cannot satisfy, by name.
pub fn unsatisfied(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .filter(|name| !provided(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::provided;

    #[test]
    fn wasi_p2_and_logging_are_provided_others_not() {
        assert!(provided("wasi:io/streams@0.2.0"));
        assert!(provided("wasi:cli/environment@0.2.6"));
        assert!(provided("wasi:logging/logging@0.1.0-draft"));
        assert!(provided("wasi:http/outgoing-handler@0.2.0"));
        assert!(!provided("wasi:keyvalue/store@0.2.0-draft"));
        assert!(!provided("wasi:io/streams@0.3.0"));
        assert!(!provided("local:greeter-demo/greet"));
    }
}
