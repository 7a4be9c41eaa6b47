//! The load pipeline: parse, apply overrides, deserialize section by section, resolve paths,
//! validate, and locate every problem.

use crate::sections::Given;
use std::path::{Component, Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use crate::document::{deserialize_lenient, render_path, Problem, Seg, Source, SourceMap, Value};
use crate::error::{ConfigError, ConfigErrors};
use crate::sections::Transport;
use crate::validate::{check, DocIndex, ValidateOptions};
use crate::{env, Config};

/// Top-level sections, in the order they are documented.
pub(crate) const SECTIONS: &[&str] = &[
    "node",
    "nats",
    "quic",
    "components",
    "routes",
    "peers",
    "mesh",
    "http",
    "admin",
    "telemetry",
    "limits",
];

/// Changes made to a configuration after its file and environment are read and before it is
/// validated (the command line's flags); their own problems are reported with the file's.
pub type Overrides<'a> = &'a mut dyn FnMut(&mut Config) -> Result<(), ConfigErrors>;

/// Loads a config from `text`, read from `origin`, with relative paths resolved against
/// `base_dir` and `vars` as the environment.
/// `overrides` run before the one validation.
pub(crate) fn load_text(
    text: &str,
    origin: &str,
    base_dir: &Path,
    vars: Vec<(String, String)>,
    opts: &ValidateOptions,
    overrides: Overrides<'_>,
) -> Result<Config, ConfigErrors> {
    let mut src = Source::new(origin, text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let mut errors = ConfigErrors(
            syntax
                .iter()
                .map(|e| src.error(e.span().as_ref(), String::new(), e.message().to_owned()))
                .collect(),
        );
        errors.sort();
        return Err(errors);
    }
    let mut table = root.into_inner();
    let mut errors = env::apply(&mut table, &mut src, &vars);
    let map = SourceMap::build(&table, &src);

    let mut cfg = Config::default();
    let mut index = DocIndex::default();
    let mut problems = Vec::new();
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let base = [Seg::Key(name.to_owned())];
        let p = &mut problems;
        match name {
            "node" => section(&mut cfg.node, value, &base, &src, p),
            "nats" => section(&mut cfg.nats, value, &base, &src, p),
            "quic" => section(&mut cfg.quic, value, &base, &src, p),
            "http" => section(&mut cfg.http, value, &base, &src, p),
            "admin" => section(&mut cfg.admin, value, &base, &src, p),
            "telemetry" => section(&mut cfg.telemetry, value, &base, &src, p),
            "limits" => section(&mut cfg.limits, value, &base, &src, p),
            "mesh" => section(&mut cfg.mesh, value, &base, &src, p),
            "components" => {
                for (i, c) in array(value, &base, &src, p, &mut Vec::new()) {
                    cfg.components.push(c);
                    index.components.push(i);
                }
            }
            "routes" => {
                for (i, r) in array(value, &base, &src, p, &mut Vec::new()) {
                    cfg.routes.push(r);
                    index.routes.push(i);
                }
            }
            "peers" => {
                for (i, peer) in array(value, &base, &src, p, &mut index.broken_peers) {
                    cfg.peers.push(peer);
                    index.peers.push(i);
                }
            }
            _ => p.push(Problem {
                path: base.to_vec(),
                span: Some(key.span()),
                message: format!(
                    "unknown section `{name}`; sections are {}",
                    SECTIONS.join(", ")
                ),
            }),
        }
    }
    for p in problems {
        let key = render_path(&p.path);
        index.broken_keys.insert(key.clone());
        let span = p.span.as_ref().or_else(|| map.span_of(&key));
        errors.push(src.error(span, key, p.message));
    }

    resolve_paths(&mut cfg, &index, base_dir, &map, &src);
    let before = (cfg.components.len(), cfg.routes.len(), cfg.peers.len());
    if let Err(e) = overrides(&mut cfg) {
        errors.extend(e.0);
    }
    // Entries the overrides added come after every entry of the file, dropped ones included,
    // so their problems never borrow a file entry's line.
    let after_file = |table_key: &str| {
        table
            .get(table_key)
            .and_then(|v| v.get_ref().as_array())
            .map_or(0, |a| a.len())
    };
    let past = |list: &mut Vec<usize>, kept: usize, now: usize, file_len: usize| {
        list.extend((0..now.saturating_sub(kept)).map(|k| file_len + k));
    };
    past(
        &mut index.components,
        before.0,
        cfg.components.len(),
        after_file("components"),
    );
    past(
        &mut index.routes,
        before.1,
        cfg.routes.len(),
        after_file("routes"),
    );
    past(
        &mut index.peers,
        before.2,
        cfg.peers.len(),
        after_file("peers"),
    );
    fill_transports(&mut cfg);

    for f in check(&cfg, opts, &index) {
        errors.push(src.error(map.span_of(&f.key), f.key, f.message));
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        let mut errors = ConfigErrors(errors);
        errors.sort();
        Err(errors)
    }
}

/// Deserializes a table section into `slot`, leaving the default where it cannot.
fn section<T: DeserializeOwned>(
    slot: &mut T,
    value: &Value<'_>,
    base: &[Seg],
    src: &Source,
    problems: &mut Vec<Problem>,
) {
    if !value.get_ref().is_table() {
        problems.push(Problem {
            path: base.to_vec(),
            span: Some(value.span()),
            message: format!("must be a table, written `[{}]`", render_path(base)),
        });
        return;
    }
    let (out, found) = deserialize_lenient(value, base, src);
    problems.extend(found);
    if let Some(out) = out {
        *slot = out;
    }
}

/// Deserializes each entry of an array-of-tables section on its own, returning the entries
/// that could be read with their indices in the file. The `name` of entries that could not is
/// added to `broken`.
fn array<T: DeserializeOwned>(
    value: &Value<'_>,
    base: &[Seg],
    src: &Source,
    problems: &mut Vec<Problem>,
    broken: &mut Vec<String>,
) -> Vec<(usize, T)> {
    let Some(items) = value.get_ref().as_array() else {
        problems.push(Problem {
            path: base.to_vec(),
            span: Some(value.span()),
            message: format!(
                "must be an array of tables, each written `[[{}]]`",
                render_path(base)
            ),
        });
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut path = base.to_vec();
        path.push(Seg::Index(i));
        if !item.get_ref().is_table() {
            problems.push(Problem {
                message: format!("must be a table, written `[[{}]]`", render_path(base)),
                path,
                span: Some(item.span()),
            });
            continue;
        }
        let (entry, found) = deserialize_lenient(item, &path, src);
        problems.extend(found);
        match entry {
            Some(entry) => out.push((i, entry)),
            None => {
                if let Some(DeValue::String(name)) = item.get_ref().get("name").map(|n| n.get_ref())
                {
                    broken.push(name.to_string());
                }
            }
        }
    }
    out
}

/// `path` made relative to `base` (unless absolute), without `.` components.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || base.as_os_str().is_empty() {
        return path.to_path_buf();
    }
    let mut out = base.to_path_buf();
    out.extend(
        path.components()
            .filter(|c| !matches!(c, Component::CurDir)),
    );
    out
}

/// Resolves the file paths the config holds against `base` — except those set from the
/// environment, which are relative to the working directory like any command-line path.
fn resolve_paths(cfg: &mut Config, index: &DocIndex, base: &Path, map: &SourceMap, src: &Source) {
    let fix = |key: String, path: &mut PathBuf| {
        if !map.set_by_env(&key, src) {
            *path = resolve(base, path);
        }
    };
    if let Some(path) = &mut cfg.nats.credentials {
        fix("nats.credentials".into(), path);
    }
    if let Some(tls) = &mut cfg.nats.tls {
        for (name, path) in [
            ("ca", &mut tls.ca),
            ("cert", &mut tls.cert),
            ("key", &mut tls.key),
        ] {
            if let Some(path) = path {
                fix(format!("nats.tls.{name}"), path);
            }
        }
    }
    let q = &mut cfg.quic;
    for (name, path) in [
        ("cert", &mut q.cert),
        ("key", &mut q.key),
        ("dev_ca_out", &mut q.dev_ca_out),
    ] {
        if let Some(path) = path {
            fix(format!("quic.{name}"), path);
        }
    }
    for (i, path) in q.trusted_ca.iter_mut().enumerate() {
        fix(format!("quic.trusted_ca[{i}]"), path);
    }
    for (i, comp) in cfg.components.iter_mut().enumerate() {
        let at = format!(
            "components[{}]",
            index.components.get(i).copied().unwrap_or(i)
        );
        fix(format!("{at}.path"), &mut comp.path);
        for (j, pre) in comp.wasi.preopens.iter_mut().enumerate() {
            fix(format!("{at}.wasi.preopens[{j}].host"), &mut pre.host);
        }
    }
}

/// Gives components without `transports` every enabled transport.
fn fill_transports(cfg: &mut Config) {
    let enabled = cfg.enabled_transports();
    for comp in &mut cfg.components {
        comp.transports_given = Given(!comp.transports.is_empty());
        if !comp.transports_given.0 {
            comp.transports = enabled.clone();
        }
    }
}

/// Turns a read failure into the single problem it is.
pub(crate) fn unreadable(path: &Path, err: &std::io::Error) -> ConfigErrors {
    ConfigError::new(
        path.display().to_string(),
        "",
        format!("cannot read the config file: {err}"),
    )
    .into()
}

/// The directory relative paths in the config at `origin` are resolved against.
pub(crate) fn base_dir(origin: &Path) -> PathBuf {
    origin.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Every `Transport` enabled in `cfg`, in the default order.
pub(crate) fn enabled(cfg: &Config) -> Vec<Transport> {
    Transport::ALL
        .into_iter()
        .filter(|t| match t {
            Transport::Nats => cfg.nats.enabled,
            Transport::Quic => cfg.quic.enabled,
        })
        .collect()
}
