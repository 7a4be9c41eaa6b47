//! Which of a component's imports nothing in this host provides.

use wasmtime::component::Component;
use wasmtime::Engine;
use witmesh_proto::wit::version;

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

/// The WASI 0.2 release wasmtime-wasi links; imports of any 0.2.x are served by it.
const WASI_P2_VERSION: &str = "0.2.0";

/// The WASI 0.3 release wasmtime-wasi links.
const WASI_P3_VERSION: &str = "0.3.0";

/// WASI 0.3 packages wasmtime-wasi provides, to components built for the async ABI (WASI 0.3
/// imports are async functions, which need an engine with concurrency support).
const WASI_P3_PACKAGES: &[&str] = &["clocks", "random", "cli", "filesystem", "sockets"];

/// The wasi:http 0.3.0 interfaces wasmtime-wasi-http links for a component to import (a
/// service's `handler` is its export; importing one, as middleware does, is not served).
const WASI_P3_HTTP_IMPORTS: &[&str] = &["wasi:http/types", "wasi:http/client"];

/// Whether this host links `name` (an import instance name such as `wasi:io/streams@0.2.0`);
/// WASI 0.3 only with `p3`.
fn provided(name: &str, p3: bool) -> bool {
    if name == LOGGING_INSTANCE || name == LATTICE_INSTANCE {
        return true;
    }
    let (unversioned, Some(version)) = version::split(name) else {
        return false;
    };
    let Some((package, _)) = unversioned
        .strip_prefix("wasi:")
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    (WASI_P2_PACKAGES.contains(&package) && version::same_line(version, WASI_P2_VERSION))
        || (p3
            && version == WASI_P3_VERSION
            && (WASI_P3_PACKAGES.contains(&package) || WASI_P3_HTTP_IMPORTS.contains(&unversioned)))
}

/// Every import of `component` that this host cannot satisfy, by name; with `p3`, WASI 0.3 is
/// linked too.
pub fn unsatisfied(engine: &Engine, component: &Component, p3: bool) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .filter(|name| !provided(name, p3))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::provided;

    #[test]
    fn wasi_p2_and_logging_are_provided_others_not() {
        assert!(provided("wasi:io/streams@0.2.0", false));
        assert!(provided("wasi:cli/environment@0.2.6", false));
        assert!(provided("wasi:logging/logging@0.1.0-draft", false));
        assert!(provided("wasi:http/outgoing-handler@0.2.0", false));
        assert!(!provided("wasi:keyvalue/store@0.2.0-draft", false));
        assert!(!provided("wasi:io/streams@0.3.0", true));
        assert!(!provided("local:greeter-demo/greet", true));
    }

    #[test]
    fn wasi_p3_is_provided_to_async_abi_components_only() {
        assert!(provided("wasi:clocks/monotonic-clock@0.3.0", true));
        assert!(provided("wasi:cli/environment@0.3.0", true));
        assert!(!provided("wasi:clocks/monotonic-clock@0.3.0", false));
        assert!(!provided("wasi:http/handler@0.3.0", true));
        assert!(!provided("wasi:random/random@0.3.1-rc", true));
    }
}
