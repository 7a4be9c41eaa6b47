//! Loading WIT from a directory (with `deps/`), a single `.wit` file, or a compiled component.

use std::collections::BTreeSet;
use std::path::Path;

use wit_parser::{PackageId, Resolve, TypeDefKind, WorldItem};

use super::WitError;

/// Which `@unstable(feature = ...)` items of WIT text are kept. Published WIT gates new
/// items behind features (WASI 0.2.6's `wasi:clocks/timezone` is one); without the feature
/// an item is left out, as `wasm-tools` and `wit-bindgen` do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitFeatures {
    /// The features enabled by name.
    pub enabled: Vec<String>,
    /// Keep every gated item.
    pub all: bool,
}

impl WitFeatures {
    /// Every gated item kept: for WIT that was already filtered where it was written (a
    /// peer's WIT, printed from what it loaded).
    #[must_use]
    pub fn all() -> Self {
        WitFeatures {
            enabled: Vec::new(),
            all: true,
        }
    }

    /// The features named in `list`, separated by commas or spaces.
    #[must_use]
    pub fn parse(list: &str) -> Self {
        WitFeatures {
            enabled: list
                .split([',', ' '])
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            all: false,
        }
    }

    /// An empty resolve with these features on.
    pub(crate) fn resolve(&self) -> Resolve {
        let mut resolve = Resolve::default();
        resolve.features.extend(self.enabled.iter().cloned());
        resolve.all_features = self.all;
        resolve
    }
}

/// A resolved set of WIT packages and the packages the user pointed at.
#[derive(Debug, Clone)]
pub struct WitSet {
    resolve: Resolve,
    main: Vec<PackageId>,
    /// `(instance, function)` of the `async func`s of a component built for the async ABI.
    async_funcs: BTreeSet<(String, String)>,
    /// Whether this came from a component built for the async ABI.
    async_abi: bool,
}

impl WitSet {
    /// Loads WIT from `path`: a directory, a `.wit` file, or a `.wasm` component whose embedded
    /// WIT is decoded. Items behind `@unstable` features are left out.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WitError> {
        Self::load_with(path, &WitFeatures::default())
    }

    /// Loads WIT like [`WitSet::load`], keeping the `@unstable` items of `features`. (A
    /// component's WIT was filtered when it was built: its gates do not apply again.)
    pub fn load_with(path: impl AsRef<Path>, features: &WitFeatures) -> Result<Self, WitError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(WitError::Read {
                path: shown,
                reason: "no such file or directory".into(),
            });
        }
        if path.extension().is_some_and(|e| e == "wasm") {
            let bytes = std::fs::read(path).map_err(|e| WitError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            return Self::from_component(&bytes).map_err(|e| WitError::Parse {
                path: shown.clone(),
                reason: e.to_string(),
            });
        }
        let mut resolve = features.resolve();
        let (pkg, _) = resolve.push_path(path).map_err(|e| WitError::Parse {
            path: shown.clone(),
            reason: format!("{e:#}"),
        })?;
        Ok(WitSet {
            resolve,
            main: vec![pkg],
            async_funcs: BTreeSet::new(),
            async_abi: false,
        })
    }

    /// Decodes the WIT embedded in a compiled component (or a WIT package encoded as wasm).
    pub fn from_component(bytes: &[u8]) -> Result<Self, WitError> {
        let decoded = wit_parser::decoding::decode(bytes).map_err(|e| WitError::Component {
            reason: format!("{e:#}"),
        })?;
        let pkg = decoded.package();
        let resolve = decoded.resolve().clone();
        let async_funcs = async_funcs(&resolve);
        let async_abi = !async_funcs.is_empty() || uses_streams_or_futures(&resolve);
        Ok(WitSet {
            resolve,
            main: vec![pkg],
            async_funcs,
            async_abi,
        })
    }

    /// Whether this is the WIT of a component built for the component model's async ABI (it
    /// has `async func`s, streams or futures): such a component needs an engine with
    /// concurrency support.
    #[must_use]
    pub fn async_abi(&self) -> bool {
        self.async_abi
    }

    /// Whether `func` (its WIT name) of the interface `instance` is an `async func` of the
    /// component this WIT was decoded from.
    #[must_use]
    pub fn is_async(&self, instance: &str, func: &str) -> bool {
        self.async_funcs
            .contains(&(instance.to_owned(), func.to_owned()))
    }

    /// A set of `resolve` with `main` as the packages loaded directly.
    pub(crate) fn from_parts(resolve: Resolve, main: Vec<PackageId>) -> Self {
        WitSet {
            resolve,
            main,
            async_funcs: BTreeSet::new(),
            async_abi: false,
        }
    }

    /// Parses WIT text; `name` stands in for a file name in errors. Items behind `@unstable`
    /// features are left out.
    pub fn from_wit_str(name: &str, src: &str) -> Result<Self, WitError> {
        let mut resolve = Resolve::default();
        let pkg = resolve.push_str(name, src).map_err(|e| WitError::Parse {
            path: name.into(),
            reason: format!("{e:#}"),
        })?;
        Ok(WitSet {
            resolve,
            main: vec![pkg],
            async_funcs: BTreeSet::new(),
            async_abi: false,
        })
    }

    /// The resolved packages.
    #[must_use]
    pub fn resolve(&self) -> &Resolve {
        &self.resolve
    }

    /// The packages loaded directly (not as dependencies).
    #[must_use]
    pub fn main_packages(&self) -> &[PackageId] {
        &self.main
    }
}

/// `(instance, function)` of every `async func` of an interface a world imports or exports,
/// keyed by the name the linker sees: an interface's id, or an inline interface's name.
fn async_funcs(resolve: &Resolve) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (_, world) in resolve.worlds.iter() {
        for (key, item) in world.imports.iter().chain(world.exports.iter()) {
            let WorldItem::Interface { id, .. } = item else {
                continue;
            };
            let instance = resolve.name_world_key(key);
            for f in resolve.interfaces[*id].functions.values() {
                if f.kind.is_async() {
                    out.insert((instance.clone(), f.name.clone()));
                }
            }
        }
    }
    out
}

/// Whether any type of `resolve` is a stream or a future.
fn uses_streams_or_futures(resolve: &Resolve) -> bool {
    resolve
        .types
        .iter()
        .any(|(_, t)| matches!(t.kind, TypeDefKind::Future(_) | TypeDefKind::Stream(_)))
}
