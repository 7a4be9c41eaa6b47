//! A report of what a WIT set contains: packages, interfaces, worlds, their imports and exports
//! and every function's signature. Printed by `witmesh wit inspect`.

use std::fmt;

use serde::Serialize;
use wit_parser::{InterfaceId, Stability, WorldItem as WitWorldItem, WorldKey};

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
    /// Its gate, when it has one: `unstable (feature clocks-timezone)`, `deprecated
    /// since 0.2.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
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

impl FunctionReport {
    /// The report of `f`; a function the wire cannot carry shows why in place of its
    /// signature.
    fn of(set: &WitSet, instance: &str, f: &wit_parser::Function) -> Self {
        let gate = gate(&f.stability);
        match Func::new(set, instance, f) {
            Ok(func) => FunctionReport {
                name: func.name,
                signature: func.signature,
                gate,
            },
            Err(e) => FunctionReport {
                name: super::wrpc_func_name(f).to_owned(),
                signature: format!("{}: unavailable ({e})", super::wrpc_func_name(f)),
                gate,
            },
        }
    }
}

/// How a gated item is marked: unstable behind a feature, or deprecated.
fn gate(stability: &Stability) -> Option<String> {
    match stability {
        Stability::Unstable {
            feature,
            deprecated: None,
        } => Some(format!("unstable (feature {feature})")),
        Stability::Unstable {
            feature,
            deprecated: Some(v),
        } => Some(format!(
            "unstable (feature {feature}), deprecated since {v}"
        )),
        Stability::Stable {
            deprecated: Some(v),
            ..
        } => Some(format!("deprecated since {v}")),
        Stability::Stable { .. } | Stability::Unknown => None,
    }
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
                .map(|f| FunctionReport::of(set, &instance, f))
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
                                Some(WorldItem::Function(FunctionReport::of(set, &world_name, f)))
                            }
                            WitWorldItem::Type { .. } => None,
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

fn shown_gate(func: &FunctionReport) -> String {
    func.gate
        .as_ref()
        .map(|g| format!("  [{g}]"))
        .unwrap_or_default()
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn funcs(f: &mut fmt::Formatter<'_>, fs: &[FunctionReport], indent: &str) -> fmt::Result {
            for func in fs {
                writeln!(f, "{indent}{}{}", func.signature, shown_gate(func))?;
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
                                writeln!(f, "    {dir} {}{}", func.signature, shown_gate(func))?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
