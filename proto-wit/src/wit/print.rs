//! WIT text for one instance: what `witmesh:mesh/reflect` sends a caller that has no WIT files,
//! and `witmesh describe` prints.

use wit_parser::{PackageId, Type, TypeDefKind, TypeOwner};

use super::{WitError, WitSet};

/// Most files [`WitSet::from_wit_files`] takes.
pub const MAX_WIT_FILES: usize = 256;
/// Most bytes of WIT text [`WitSet::from_wit_files`] takes, all files together.
pub const MAX_WIT_BYTES: usize = 4 << 20;

impl WitSet {
    /// The WIT of the package defining `instance` (an interface's wRPC name), its interfaces
    /// without its worlds, as one file per package, the packages it depends on first and its
    /// own last, so that
    /// [`WitSet::from_wit_files`] loads them back in order. Each file is `(name, text)`.
    pub fn wit_files_of(&self, instance: &str) -> Result<Vec<(String, String)>, WitError> {
        let resolve = self.resolve();
        let Some(iface) = resolve
            .interfaces
            .iter()
            .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(instance))
            .map(|(id, _)| id)
        else {
            return Err(WitError::UnknownInstance {
                instance: instance.to_owned(),
                known: self
                    .instances()
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let Some(main) = resolve.interfaces[iface].package else {
            return Err(WitError::Parse {
                path: instance.to_owned(),
                reason: "the interface belongs to no package".to_owned(),
            });
        };
        let mut needed = vec![main];
        let mut i = 0;
        while i < needed.len() {
            for dep in package_deps(self, needed[i]) {
                if !needed.contains(&dep) {
                    needed.push(dep);
                }
            }
            i += 1;
        }
        // The arena holds every package after the packages it depends on.
        needed.sort_by_key(|p| p.index());
        needed
            .into_iter()
            .map(|pkg| {
                let mut printer = wit_component::WitPrinter::default();
                printer
                    .print(resolve, pkg, &[])
                    .map_err(|e| WitError::Parse {
                        path: instance.to_owned(),
                        reason: format!("cannot print its WIT: {e:#}"),
                    })?;
                let text = printer.output.to_string();
                Ok((
                    format!("{}.wit", resolve.packages[pkg].name),
                    without_worlds(&text),
                ))
            })
            .collect()
    }

    /// Loads WIT files given in dependency order (as [`WitSet::wit_files_of`] makes them,
    /// e.g. received from a peer); the last is the main package. Bounded by [`MAX_WIT_FILES`]
    /// and [`MAX_WIT_BYTES`]; a parser failure of any kind is an error, never a panic.
    pub fn from_wit_files(files: &[(String, String)]) -> Result<Self, WitError> {
        let total: usize = files.iter().map(|(n, t)| n.len() + t.len()).sum();
        if files.is_empty() || files.len() > MAX_WIT_FILES || total > MAX_WIT_BYTES {
            return Err(WitError::Parse {
                path: "<reflected WIT>".into(),
                reason: format!(
                    "{} files of {total} bytes (expected 1 to {MAX_WIT_FILES} files of at most {MAX_WIT_BYTES} bytes)",
                    files.len()
                ),
            });
        }
        let loaded = std::panic::catch_unwind(|| {
            // The sender printed what it had loaded, gates and all: nothing is filtered again.
            let mut resolve = super::WitFeatures::all().resolve();
            let mut last = None;
            for (name, text) in files {
                let pkg = resolve.push_str(name, text).map_err(|e| WitError::Parse {
                    path: name.clone(),
                    reason: format!("{e:#}"),
                })?;
                last = Some(pkg);
            }
            Ok((resolve, last))
        });
        match loaded {
            Ok(Ok((resolve, Some(main)))) => Ok(WitSet::from_parts(resolve, vec![main])),
            Ok(Ok((_, None))) => unreachable_files(),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(WitError::Parse {
                path: "<reflected WIT>".into(),
                reason: "the WIT parser failed on this text".into(),
            }),
        }
    }
}

fn unreachable_files() -> Result<WitSet, WitError> {
    Err(WitError::Parse {
        path: "<reflected WIT>".into(),
        reason: "no files".into(),
    })
}

/// The packages whose interfaces `pkg`'s interfaces and worlds use types from.
fn package_deps(set: &WitSet, pkg: PackageId) -> Vec<PackageId> {
    let resolve = set.resolve();
    let mut out = Vec::new();
    let mut add = |owner: TypeOwner| {
        if let TypeOwner::Interface(i) = owner {
            if let Some(p) = resolve.interfaces[i].package {
                if p != pkg && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    };
    for (_, ty) in resolve.types.iter() {
        let inside = match ty.owner {
            TypeOwner::Interface(i) => resolve.interfaces[i].package == Some(pkg),
            TypeOwner::World(w) => resolve.worlds[w].package == Some(pkg),
            TypeOwner::None => false,
        };
        if !inside {
            continue;
        }
        if let TypeDefKind::Type(Type::Id(target)) = ty.kind {
            add(resolve.types[target].owner);
        }
    }
    out
}

/// `text` without its top-level `world` blocks and their doc comments: callers need the
/// interfaces, and a printed world can carry attributes (`@since`) of the interfaces it
/// imports from other packages that do not hold in its own package.
fn without_worlds(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut in_world = false;
    for line in text.lines() {
        if in_world {
            if line == "}" {
                in_world = false;
            }
            continue;
        }
        if line.starts_with("world ") {
            while out
                .last()
                .is_some_and(|l| l.starts_with("///") || l.starts_with('@'))
            {
                out.pop();
            }
            in_world = !line.trim_end().ends_with('}');
            continue;
        }
        out.push(line);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wit::Func;

    fn sigs(set: &WitSet, instance: &str) -> Vec<String> {
        let mut v: Vec<String> = set
            .instances()
            .into_iter()
            .filter(|(n, _)| n == instance)
            .flat_map(|(n, fs)| {
                fs.into_iter()
                    .filter_map(|f| Func::new(set, &n, f).ok().map(|f| f.signature))
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_instance_prints_as_wit_that_loads_on_its_own() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");
        let set = WitSet::load(dir).unwrap();
        for instance in [
            "witmesh:mesh/discovery@0.1.0",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:http/incoming-handler@0.2.6",
        ] {
            let files = set.wit_files_of(instance).unwrap();
            let again =
                WitSet::from_wit_files(&files).unwrap_or_else(|e| panic!("{instance}: {e}"));
            let (before, after) = (sigs(&set, instance), sigs(&again, instance));
            assert_eq!(before, after, "{instance}");
            assert!(!before.is_empty());
        }
        assert!(set.wit_files_of("nope:nope/nope").is_err());
        assert!(WitSet::from_wit_files(&[]).is_err());
        let garbage = [("x.wit".to_owned(), "package a:b; interface {".to_owned())];
        assert!(WitSet::from_wit_files(&garbage).is_err());
    }
}
