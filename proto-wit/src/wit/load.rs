//! Loading WIT from a directory (with `deps/`), a single `.wit` file, or a compiled component.

use std::collections::BTreeSet;
use std::path::Path;

use wit_parser::{PackageId, Resolve};

use super::WitError;

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
    /// WIT is decoded.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WitError> {
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
        let mut resolve = Resolve::default();
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
    /// Components built for the async ABI are decoded by [`super::async_abi`].
    pub fn from_component(bytes: &[u8]) -> Result<Self, WitError> {
        let decoded = match wit_parser::decoding::decode(bytes) {
            Ok(decoded) => decoded,
            Err(first) => {
                return match super::async_abi::decode(bytes) {
                    Ok(lowered) => Ok(WitSet {
                        resolve: lowered.resolve,
                        main: vec![lowered.package],
                        async_funcs: lowered.async_funcs,
                        async_abi: true,
                    }),
                    Err(newer) => Err(WitError::Component {
                        first: format!("{first:#}"),
                        newer,
                    }),
                };
            }
        };
        let pkg = decoded.package();
        Ok(WitSet {
            resolve: decoded.resolve().clone(),
            main: vec![pkg],
            async_funcs: BTreeSet::new(),
            async_abi: false,
        })
    }

    /// Whether this is the WIT of a component built for the component model's async ABI (one
    /// that only the async-ABI decoder reads): such a component needs an engine with
    /// concurrency support.
    #[must_use]
    pub fn async_abi(&self) -> bool {
        self.async_abi
    }

    /// Whether `func` of the interface `instance` is an `async func` (only components built
    /// for the async ABI have them).
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

    /// Parses WIT text; `name` stands in for a file name in errors.
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
