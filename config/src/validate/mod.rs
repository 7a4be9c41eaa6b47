//! Semantic checks on a deserialized config: everything types alone cannot say. The checks
//! of each section are in `sections`, the checks of single values (names, URLs, subjects,
//! filters) in `values`.

mod sections;
mod values;

use std::collections::HashSet;
use std::path::Path;

use crate::units::ByteSize;
use crate::Config;

/// Smallest memory limit a component can run in.
pub const MIN_MEMORY_LIMIT: ByteSize = ByteSize::kib(64); // one WebAssembly page; less and no memory can exist
/// Schemes a NATS URL may use.
pub const NATS_SCHEMES: &[&str] = &["nats", "tls", "ws", "wss"]; // the schemes the NATS client speaks

/// What validation checks beyond the config's own consistency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Whether files the config names (components, certificates, credentials, preopened
    /// directories) must exist. On for real loads; off to check a config meant for another
    /// machine, as the examples are.
    pub check_files: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions { check_files: true }
    }
}

/// A semantic problem: key path and message, located later.
#[derive(Debug)]
pub(crate) struct Finding {
    /// Rendered key path, e.g. `routes[0].peers`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Maps positions in the config's arrays to positions in the file (entries that failed to
/// deserialize are missing from the config), and remembers names of entries that failed.
#[derive(Debug, Default)]
pub(crate) struct DocIndex {
    /// File index of each `Config::components` entry.
    pub components: Vec<usize>,
    /// File index of each `Config::routes` entry.
    pub routes: Vec<usize>,
    /// File index of each `Config::peers` entry.
    pub peers: Vec<usize>,
    /// Names of `[[peers]]` entries that had problems and were dropped; routes naming them are
    /// not reported again.
    pub broken_peers: Vec<String>,
    /// Keys already reported while deserializing (their values were dropped for defaults), so
    /// checks do not report the consequences again.
    pub broken_keys: HashSet<String>,
}

impl DocIndex {
    fn at(list: &[usize], i: usize) -> usize {
        list.get(i).copied().unwrap_or(i)
    }
}

/// Collects findings with their key paths.
struct Checker<'a> {
    cfg: &'a Config,
    opts: &'a ValidateOptions,
    index: &'a DocIndex,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn report(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        if !self.broken(&key) {
            self.findings.push(Finding {
                key,
                message: message.into(),
            });
        }
    }

    /// Whether `key`, or a table it is in, was already reported as unreadable: its value is a
    /// default standing in for what the file meant, so nothing more can be said about it.
    fn broken(&self, key: &str) -> bool {
        self.index.broken_keys.iter().any(|b| {
            key.strip_prefix(b.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// Reports a missing file (or directory when `dir`), if files are checked.
    fn file(&mut self, key: String, path: &Path, dir: bool, what: &str) {
        if !self.opts.check_files {
            return;
        }
        let ok = if dir { path.is_dir() } else { path.is_file() };
        if !ok {
            let kind = if dir { "directory" } else { "file" };
            self.report(
                key,
                format!(
                    "no such {kind} `{}`; give the path to {what} (relative paths are resolved against the config file's directory)",
                    path.display()
                ),
            );
        }
    }
}

/// Runs every check, returning all findings.
pub(crate) fn check(cfg: &Config, opts: &ValidateOptions, index: &DocIndex) -> Vec<Finding> {
    let mut c = Checker {
        cfg,
        opts,
        index,
        findings: Vec::new(),
    };
    sections::node(&mut c);
    sections::nats(&mut c);
    sections::quic(&mut c);
    sections::services(&mut c);
    sections::limits(&mut c);
    sections::components(&mut c);
    sections::peers(&mut c);
    sections::routes(&mut c);
    sections::mesh(&mut c);
    c.findings
}
