//! Resolving functions by their wRPC names: an instance (`local:greeter-demo/greet`) and a
//! function (`greet`, or `res.method` for resource functions).

use std::sync::Arc;

use wit_parser::{Function, FunctionKind};

use super::{WitError, WitSet};
use crate::ty::Ty;

/// A function resolved to self-contained types, ready for the codec.
#[derive(Debug, Clone)]
pub struct Func {
    /// The wRPC instance: interface id with package and version, or the world's id for
    /// functions a world imports or exports directly.
    pub instance: String,
    /// The wRPC function name (`greet`, `res.method`, `res` for a constructor).
    pub name: String,
    /// Parameter names.
    pub param_names: Vec<String>,
    /// Parameter types.
    pub params: Arc<[Ty]>,
    /// Labels of the parameters in error paths (`param name`).
    pub param_labels: Arc<[String]>,
    /// Result types: none, or the one result.
    pub results: Arc<[Ty]>,
    /// Labels of the results in error paths (`result`, or `result name`).
    pub result_labels: Arc<[String]>,
    /// The WIT signature: `greet: func(name: string) -> string`.
    pub signature: String,
    /// The function's WIT doc comment, if it has one.
    pub docs: Option<String>,
}

/// The wRPC name of a WIT function: canonical `[method]`, `[static]` and `[constructor]`
/// prefixes dropped.
#[must_use]
pub fn wrpc_func_name(func: &Function) -> &str {
    let prefix = match func.kind {
        FunctionKind::Freestanding | FunctionKind::AsyncFreestanding => return &func.name,
        FunctionKind::Method(_) => "[method]",
        FunctionKind::AsyncMethod(_) => "[async method]",
        FunctionKind::Static(_) => "[static]",
        FunctionKind::AsyncStatic(_) => "[async static]",
        FunctionKind::Constructor(_) => "[constructor]",
    };
    func.name.strip_prefix(prefix).unwrap_or(&func.name)
}

impl Func {
    /// Resolves a `wit_parser` function of `instance`, or says which of its types the wire
    /// cannot carry.
    pub fn new(set: &WitSet, instance: &str, func: &Function) -> Result<Func, WitError> {
        let resolve = set.resolve();
        let name = wrpc_func_name(func).to_owned();
        let lower = |t: &wit_parser::Type| {
            Ty::from_wit(resolve, t).map_err(|reason| WitError::Unsupported {
                instance: instance.to_owned(),
                func: name.clone(),
                reason,
            })
        };
        let param_names: Vec<String> = func.params.iter().map(|p| p.name.clone()).collect();
        let params: Arc<[Ty]> = func
            .params
            .iter()
            .map(|p| lower(&p.ty))
            .collect::<Result<_, _>>()?;
        let results: Vec<Ty> = func
            .result
            .as_ref()
            .map(lower)
            .transpose()?
            .into_iter()
            .collect();
        let asynchronous = if func.kind.is_async() { "async " } else { "" };
        let mut signature = format!("{name}: {asynchronous}func(");
        for (i, (n, t)) in param_names.iter().zip(params.iter()).enumerate() {
            if i > 0 {
                signature.push_str(", ");
            }
            signature.push_str(&format!("{n}: {t}"));
        }
        signature.push(')');
        if let Some(t) = results.first() {
            signature.push_str(&format!(" -> {t}"));
        }
        Ok(Func {
            instance: instance.to_owned(),
            param_labels: param_names.iter().map(|n| format!("param {n}")).collect(),
            result_labels: results.iter().map(|_| "result".to_owned()).collect(),
            name,
            param_names,
            params,
            results: results.into(),
            signature,
            docs: func.docs.contents.clone(),
        })
    }
}

impl WitSet {
    /// Every instance the WIT defines with its functions: each named interface and each world
    /// that has functions of its own.
    #[must_use]
    pub fn instances(&self) -> Vec<(String, Vec<&Function>)> {
        let resolve = self.resolve();
        let mut out = Vec::new();
        for (id, iface) in resolve.interfaces.iter() {
            if let Some(name) = resolve.id_of(id) {
                out.push((name, iface.functions.values().collect()));
            }
        }
        for (_, world) in resolve.worlds.iter() {
            let funcs: Vec<&Function> = world
                .imports
                .values()
                .chain(world.exports.values())
                .filter_map(|item| match item {
                    wit_parser::WorldItem::Function(f) => Some(f),
                    _ => None,
                })
                .collect();
            if funcs.is_empty() {
                continue;
            }
            let name = match world.package {
                Some(pkg) => resolve.id_of_name(pkg, &world.name),
                None => world.name.clone(),
            };
            out.push((name, funcs));
        }
        out
    }

    /// Resolves a function by wRPC instance and function name.
    pub fn func(&self, instance: &str, func: &str) -> Result<Func, WitError> {
        let instances = self.instances();
        let Some((inst, funcs)) = instances.iter().find(|(n, _)| n == instance) else {
            return Err(WitError::UnknownInstance {
                instance: instance.to_owned(),
                known: list(instances.iter().map(|(n, _)| n.as_str())),
            });
        };
        match funcs.iter().find(|f| wrpc_func_name(f) == func) {
            Some(f) => Func::new(self, inst, f),
            None => Err(WitError::UnknownFunction {
                instance: instance.to_owned(),
                func: func.to_owned(),
                known: list(funcs.iter().map(|f| wrpc_func_name(f))),
            }),
        }
    }

    /// Resolves `INSTANCE.FUNC` (e.g. `bench:peer/echo@0.1.0.add`), splitting at the dot that
    /// leaves a known instance: versions and resource methods contain dots too.
    pub fn func_by_target(&self, target: &str) -> Result<Func, WitError> {
        let instances = self.instances();
        let mut best: Option<&str> = None;
        for (name, _) in &instances {
            if target.len() > name.len() + 1
                && target.starts_with(name.as_str())
                && target.as_bytes()[name.len()] == b'.'
                && best.is_none_or(|b| name.len() > b.len())
            {
                best = Some(name);
            }
        }
        match best {
            Some(inst) => self.func(inst, &target[inst.len() + 1..]),
            None => Err(WitError::BadTarget {
                target: target.to_owned(),
                example: instances
                    .iter()
                    .find_map(|(n, fs)| fs.first().map(|f| format!("{n}.{}", wrpc_func_name(f))))
                    .unwrap_or_else(|| "local:greeter-demo/greet.greet".to_owned()),
            }),
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}
