//! witmesh's own package, `witmesh:mesh`, loaded once, and the values its `reflect.wit`
//! function trades in: a provider tells a caller that has no WIT of its own what it serves.

use std::sync::OnceLock;

use super::{Func, WitSet, MESH_WIT};
use crate::Value;

/// The instance every sidecar serves its WIT under.
pub const REFLECT: &str = "witmesh:mesh/reflect@0.1.0";

/// The name [`MESH_WIT`] is loaded under, for error messages.
const MESH_FILE: &str = "witmesh.wit";

/// `witmesh:mesh`, parsed on first use and kept for the life of the process.
pub fn mesh() -> &'static WitSet {
    static MESH: OnceLock<WitSet> = OnceLock::new();
    MESH.get_or_init(|| match WitSet::from_wit_str(MESH_FILE, MESH_WIT) {
        Ok(set) => set,
        // The package is compiled in and checked by this module's tests.
        Err(e) => unreachable!("the bundled witmesh:mesh package does not load: {e}"),
    })
}

/// `witmesh:mesh/reflect.wit`, the function that returns a provider's WIT files.
pub fn reflect_func() -> &'static Func {
    static WIT: OnceLock<Func> = OnceLock::new();
    WIT.get_or_init(|| match mesh().func(REFLECT, "wit") {
        Ok(f) => f,
        Err(e) => unreachable!("the bundled witmesh:mesh package has no reflect.wit: {e}"),
    })
}

/// WIT files (name, text) as a `list<wit-file>` value.
pub fn files_value(files: &[(String, String)]) -> Value {
    Value::List(
        files
            .iter()
            .map(|(name, text)| {
                Value::Record(vec![
                    Value::String(name.clone()),
                    Value::String(text.clone()),
                ])
            })
            .collect(),
    )
}

/// The files of a `reflect.wit` answer (`option<list<wit-file>>`); `None` for `none` or a
/// value of another shape.
pub fn files_of(answer: &Value) -> Option<Vec<(String, String)>> {
    let Value::Option(Some(list)) = answer else {
        return None;
    };
    let Value::List(files) = list.as_ref() else {
        return None;
    };
    files
        .iter()
        .map(|f| match f {
            Value::Record(v) => match v.as_slice() {
                [Value::String(n), Value::String(t)] => Some((n.clone(), t.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_mesh_package_loads_and_files_round_trip() {
        assert!(mesh().func(REFLECT, "wit").is_ok());
        assert_eq!(reflect_func().name, "wit");
        let files = vec![("a.wit".to_owned(), "package a:b;".to_owned())];
        let answer = Value::Option(Some(Box::new(files_value(&files))));
        assert_eq!(files_of(&answer), Some(files));
        assert_eq!(files_of(&Value::Option(None)), None);
    }
}
