//! Which provided instance versions may serve an imported one.
//!
//! An import of `ns:pkg/iface@1.2.0` may be served by `@1.3.1` (same major, not older); for
//! 0.x versions the minor must match too (`0.2.0` by `0.2.5`, never by `0.3.0`); a pre-release
//! such as `0.2.0-draft` only by exactly itself; an unversioned import only by an unversioned
//! provider.

use semver::Version;

/// `instance` split into its versionless name and its version, if it has one.
pub fn split(instance: &str) -> (&str, Option<&str>) {
    match instance.rsplit_once('@') {
        Some((name, v)) => (name, Some(v)),
        None => (instance, None),
    }
}

/// Whether a provider of `provided` may serve an import of `imported`.
pub fn compatible(imported: &str, provided: &str) -> bool {
    let (iname, iver) = split(imported);
    let (pname, pver) = split(provided);
    if iname != pname {
        return false;
    }
    match (iver, pver) {
        (None, None) => true,
        (Some(i), Some(p)) => match (Version::parse(i), Version::parse(p)) {
            (Ok(i), Ok(p)) => semver_compatible(&i, &p),
            // Versions that are not semver match only themselves.
            _ => i == p,
        },
        _ => false,
    }
}

/// Whether versions `a` and `b` are on one compatible line in either direction: the same
/// major, and for 0.x the same minor; pre-releases only with themselves. This is how
/// wasmtime's linker lets one definition serve imports of any patch release.
pub fn same_line(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => {
            let (older, newer) = if a <= b { (&a, &b) } else { (&b, &a) };
            semver_compatible(older, newer)
        }
        _ => a == b,
    }
}

fn semver_compatible(i: &Version, p: &Version) -> bool {
    if !i.pre.is_empty() || !p.pre.is_empty() {
        return i == p;
    }
    if i.major != p.major || p < i {
        return false;
    }
    i.major > 0 || i.minor == p.minor
}

#[cfg(test)]
mod tests {
    use super::{compatible, same_line};

    #[test]
    fn lines_match_in_either_direction() {
        assert!(same_line("0.2.0", "0.2.6"));
        assert!(same_line("0.2.9", "0.2.6"));
        assert!(!same_line("0.3.0", "0.2.6"));
        assert!(same_line("1.4.0", "1.0.0"));
        assert!(!same_line("0.3.0-rc-2025-08-15", "0.3.0"));
        assert!(!same_line("x", "0.3.0"));
    }

    #[test]
    fn semver_rules() {
        assert!(compatible("ns:pkg/i@1.2.0", "ns:pkg/i@1.2.0"));
        assert!(compatible("ns:pkg/i@1.2.0", "ns:pkg/i@1.3.1"));
        assert!(!compatible("ns:pkg/i@1.2.0", "ns:pkg/i@2.0.0"));
        assert!(!compatible("ns:pkg/i@1.3.0", "ns:pkg/i@1.2.9"));
        assert!(compatible("ns:pkg/i@0.2.0", "ns:pkg/i@0.2.5"));
        assert!(!compatible("ns:pkg/i@0.2.0", "ns:pkg/i@0.3.0"));
        assert!(compatible(
            "wasi:kv/store@0.2.0-draft",
            "wasi:kv/store@0.2.0-draft"
        ));
        assert!(!compatible(
            "wasi:kv/store@0.2.0-draft",
            "wasi:kv/store@0.2.0"
        ));
        assert!(!compatible(
            "wasi:kv/store@0.2.0",
            "wasi:kv/store@0.2.1-draft"
        ));
        assert!(!compatible("ns:pkg/i@1.2.0", "ns:pkg/other@1.2.0"));
        assert!(compatible(
            "local:greeter-demo/greet",
            "local:greeter-demo/greet"
        ));
        assert!(!compatible(
            "local:greeter-demo/greet",
            "local:greeter-demo/greet@1.0.0"
        ));
        assert!(!compatible(
            "local:greeter-demo/greet@1.0.0",
            "local:greeter-demo/greet"
        ));
    }
}
