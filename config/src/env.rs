//! Environment overrides: `WITMESH_<SECTION>__<KEY>=value` on top of the file.
//!
//! Overrides are merged into the parsed document before it is deserialized, so they are
//! checked exactly like file values (an override naming no key is an unknown-field error that
//! names the variable). Each value is read as a TOML value when it parses as one (`true`,
//! `8`, `["a", "b"]`, `"quoted"`), else taken as a plain string (`nats://…`, `127.0.0.1:0`,
//! `30s`); a value that parsed as something other than the string its key wants is retried as
//! that string, so `WITMESH_NODE__ID=7` sets the id `"7"`.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::document::Source;
use crate::error::ConfigError;

/// Prefix of every override variable.
pub const ENV_PREFIX: &str = "WITMESH_"; // one namespace for the whole product, as the binary's name
/// Separator between the section and nested keys in a variable name.
pub const ENV_SEPARATOR: &str = "__"; // keys themselves contain single underscores (queue_group)
/// `WITMESH_` variables that are not overrides (read by the binary itself) and are skipped.
pub const RESERVED_ENV_VARS: &[&str] = &["WITMESH_CONFIG"]; // the config file's path, which cannot live in the file

/// Sections whose keys may be overridden; the array sections cannot be addressed by name.
const OVERRIDABLE: &[&str] = &[
    "node",
    "nats",
    "quic",
    "http",
    "admin",
    "telemetry",
    "limits",
    "mesh",
];
/// Sections that are arrays of tables, named in the error for overriding one.
const ARRAYS: &[&str] = &["components", "routes", "peers"];

/// Merges the `WITMESH_` variables among `vars` into `root`, registering each with `src` so
/// problems with its value name it. Variables are applied in name order. Problems with the
/// variable names themselves are returned.
pub(crate) fn apply<'i>(
    root: &mut DeTable<'i>,
    src: &mut Source,
    vars: &'i [(String, String)],
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut ours: Vec<&(String, String)> = vars
        .iter()
        .filter(|(name, _)| {
            name.starts_with(ENV_PREFIX) && !RESERVED_ENV_VARS.contains(&name.as_str())
        })
        .collect();
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, raw) in ours {
        let env_error = |key: String, message: String| ConfigError {
            file: format!("${name}"),
            line: None,
            key,
            message,
        };
        let segs: Vec<String> = name[ENV_PREFIX.len()..]
            .split(ENV_SEPARATOR)
            .map(str::to_ascii_lowercase)
            .collect();
        if segs.iter().any(String::is_empty) || segs.len() < 2 {
            errors.push(env_error(
                String::new(),
                format!(
                    "`{name}` names no config key; overrides are {ENV_PREFIX}<SECTION>{ENV_SEPARATOR}<KEY>, e.g. WITMESH_NATS__URL"
                ),
            ));
            continue;
        }
        let key = segs.join(".");
        let section = segs[0].as_str();
        if ARRAYS.contains(&section) {
            errors.push(env_error(
                key,
                format!(
                    "`[[{section}]]` entries cannot be set from the environment; edit the file"
                ),
            ));
            continue;
        }
        if !OVERRIDABLE.contains(&section) {
            errors.push(env_error(
                key,
                format!(
                    "`{name}` names no config section; sections are {}",
                    OVERRIDABLE.join(", ")
                ),
            ));
            continue;
        }
        let [key_span, value_span, table_span] = src.add_env(name, raw);
        let value = parse_value(raw, &value_span);
        if let Err(message) = insert(root, &segs, value, &key_span, &table_span) {
            errors.push(env_error(key, message));
        }
    }
    errors
}

/// Reads an override's text as a TOML value if it is one, else as a string; every part of
/// the result gets `span`.
fn parse_value<'i>(raw: &'i str, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    match DeValue::parse(raw) {
        Ok(v) => respan(v.into_inner(), span),
        Err(_) => Spanned::new(span.clone(), DeValue::String(Cow::Borrowed(raw))),
    }
}

/// Gives `v` and everything in it the synthetic `span`.
fn respan<'i>(v: DeValue<'i>, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    let v = match v {
        DeValue::Array(items) => DeValue::Array(
            items
                .into_iter()
                .map(|item| respan(item.into_inner(), span))
                .collect(),
        ),
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, item) in t {
                out.insert(
                    Spanned::new(span.clone(), k.into_inner()),
                    respan(item.into_inner(), span),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    };
    Spanned::new(span.clone(), v)
}

/// Sets `path` in `root` to `value`, creating tables on the way.
fn insert<'i>(
    root: &mut DeTable<'i>,
    path: &[String],
    value: Spanned<DeValue<'i>>,
    key_span: &Range<usize>,
    table_span: &Range<usize>,
) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut table = root;
    for (depth, seg) in parents.iter().enumerate() {
        if !table.contains_key(seg.as_str()) {
            table.insert(
                Spanned::new(key_span.clone(), Cow::Owned(seg.clone())),
                Spanned::new(table_span.clone(), DeValue::Table(DeTable::new())),
            );
        }
        table = match table.get_mut(seg.as_str()).map(Spanned::get_mut) {
            Some(DeValue::Table(t)) => t,
            _ => {
                return Err(format!(
                    "cannot set a key inside `{}`, which the file gives a non-table value",
                    path[..=depth].join(".")
                ))
            }
        };
    }
    table.insert(
        Spanned::new(key_span.clone(), Cow::Owned(last.clone())),
        value,
    );
    Ok(())
}
