//! A report of what a WIT set contains: packages, interfaces, worlds, their imports and exports
//! and every function's signature. Printed by `witmesh wit inspect`.

use std::fmt;

use serde::Serialize;
use wit_parser::{InterfaceId, WorldItem as WitWorldItem, WorldKey};

use super::lookup::Func;
use super::WitSet;

/// Everything in a WIT set, main packages first.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// Packages in dependency order, with the loaded ones marked.
    pub packages: Vec<PackageReport>,
}

/// One package.
#[derive(Debug, Serialize)]
pub struct PackageReport {
    /// `namespace:name@version`.
    pub name: String,
    /// Whether the user loaded it directly rather than as a dependency.
    pub main: bool,
    /// Its interfaces.
    pub interfaces: Vec<InterfaceReport>,
    /// Its worlds.
    pub worlds: Vec<WorldReport>,
}

/// An interface and its functions.
#[derive(Debug, Serialize)]
pub struct InterfaceReport {
    /// The wRPC instance name (`ns:pkg/iface@version`).
    pub instance: String,
    /// WIT signatures, by wRPC function name.
    pub functions: Vec<FunctionReport>,
}

/// One function.
#[derive(Debug, Serialize)]
pub struct FunctionReport {
    /// The wRPC function name.
    pub name: String,
    /// The WIT signature.
    pub signature: String,
}

/// A world and what it imports and exports.
#[derive(Debug, Serialize)]
pub struct WorldReport {
    /// `ns:pkg/world@version`.
    pub name: String,
    /// Imported interfaces and functions.
    pub imports: Vec<WorldItem>,
    /// Exported interfaces and functions.
    pub exports: Vec<WorldItem>,
}

/// An import or export of a world.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WorldItem {
    /// An interface, by instance name, with its functions.
    Interface(InterfaceReport),
    /// A function of the world itself.
    Function(FunctionReport),
}

/// Builds the report for `set`.
#[must_use]
pub fn inspect(set: &WitSet) -> Inspection {
    let resolve = set.resolve();
    let iface = |id: InterfaceId, key: &WorldKey| {
        let instance = match key {
            WorldKey::Interface(_) => resolve.id_of(id).unwrap_or_default(),
            WorldKey::Name(n) => n.clone(),
        };
        InterfaceReport {
            functions: resolve.interfaces[id]
                .functions
                .values()
                .map(|f| {
                    let func = Func::new(set, &instance, f);
                    FunctionReport {
                        name: func.name,
                        signature: func.signature,
                    }
                })
                .collect(),
            instance,
        }
    };
    let mut packages = Vec::new();
    for (pkg_id, pkg) in resolve.packages.iter() {
        let interfaces = pkg
            .interfaces
            .values()
            .map(|id| iface(*id, &WorldKey::Interface(*id)))
            .collect();
        let worlds = pkg
            .worlds
            .values()
            .map(|wid| {
                let world = &resolve.worlds[*wid];
                let world_name = resolve.id_of_name(pkg_id, &world.name);
                let items = |items: Vec<(&WorldKey, &WitWorldItem)>| -> Vec<WorldItem> {
                    items
                        .into_iter()
                        .filter_map(|(key, item)| match item {
                            WitWorldItem::Interface { id, .. } => {
                                Some(WorldItem::Interface(iface(*id, key)))
                            }
                            WitWorldItem::Function(f) => {
                                let func = Func::new(set, &world_name, f);
                                Some(WorldItem::Function(FunctionReport {
                                    name: func.name,
                                    signature: func.signature,
                                }))
                            }
                            WitWorldItem::Type(_) => None,
                        })
                        .collect()
                };
                WorldReport {
                    imports: items(world.imports.iter().collect()),
                    exports: items(world.exports.iter().collect()),
                    name: world_name,
                }
            })
            .collect();
        packages.push(PackageReport {
            name: pkg.name.to_string(),
            main: set.main_packages().contains(&pkg_id),
            interfaces,
            worlds,
        });
    }
    // Loaded packages first; dependencies after, in resolution order.
    packages.sort_by_key(|p| !p.main);
    Inspection { packages }
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn funcs(f: &mut fmt::Formatter<'_>, fs: &[FunctionReport], indent: &str) -> fmt::Result {
            for func in fs {
                writeln!(f, "{indent}{}", func.signature)?;
            }
            Ok(())
        }
        for p in &self.packages {
            let tag = if p.main { "" } else { " (dependency)" };
            writeln!(f, "package {}{tag}", p.name)?;
            for i in &p.interfaces {
                writeln!(f, "  interface {}", i.instance)?;
                funcs(f, &i.functions, "    ")?;
            }
            for w in &p.worlds {
                writeln!(f, "  world {}", w.name)?;
                for (dir, items) in [("import", &w.imports), ("export", &w.exports)] {
                    for item in items {
                        match item {
                            WorldItem::Interface(i) => {
                                writeln!(f, "    {dir} {}", i.instance)?;
                                funcs(f, &i.functions, "      ")?;
                            }
                            WorldItem::Function(func) => {
                                writeln!(f, "    {dir} {}", func.signature)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
