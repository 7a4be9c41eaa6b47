//! The parsed, spanned TOML document: where every key came from, and lenient deserialization
//! that finds every problem in a section rather than the first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::error::ConfigError;

/// A spanned TOML value as parsed from the file (or inserted from the environment).
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    /// A key in a table.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// Renders a key path as `components[1].wasi.env."A.B"`.
pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(k);
                } else {
                    let _ = write!(out, "{k:?}");
                }
            }
        }
    }
    out
}

/// The rendered path of the parent of `key`, or `None` at the top.
fn parent_key(key: &str) -> Option<&str> {
    if key.is_empty() {
        return None;
    }
    let cut = if let Some(open) = key.strip_suffix('"') {
        // A quoted last key: its opening quote follows a `.`.
        open.rfind(".\"").unwrap_or(0)
    } else {
        key.rfind(['.', '[']).unwrap_or(0)
    };
    Some(&key[..cut])
}

/// One environment override, remembered so problems with it can name the variable.
#[derive(Clone, Debug)]
pub(crate) struct EnvEntry {
    /// The variable's name, e.g. `WITMESH_NATS__URL`.
    pub name: String,
    /// The variable's value as given.
    pub raw: String,
}

/// The text a config came from, and how to turn byte offsets into file and line.
///
/// Environment overrides get synthetic spans past the end of the text — three bytes per
/// variable: one for its key, one for its value and one for tables created to hold it — so a
/// span alone says where a value came from.
#[derive(Debug)]
pub(crate) struct Source {
    /// Name of the file as given to the loader.
    pub file: String,
    /// Length of the text; synthetic spans start just past it.
    len: usize,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    /// Overrides applied, indexed by their synthetic spans.
    pub env: Vec<EnvEntry>,
}

impl Source {
    /// Indexes `text`, named `file`.
    pub fn new(file: &str, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file: file.to_owned(),
            len: text.len(),
            line_starts,
            env: Vec::new(),
        }
    }

    /// Start of the synthetic spans.
    fn synthetic_base(&self) -> usize {
        self.len + 1
    }

    /// Registers an override, returning the spans of its key, its value, and the tables
    /// created to hold it.
    pub fn add_env(&mut self, name: &str, raw: &str) -> [Range<usize>; 3] {
        let at = self.synthetic_base() + 3 * self.env.len();
        self.env.push(EnvEntry {
            name: name.to_owned(),
            raw: raw.to_owned(),
        });
        [at..at + 1, at + 1..at + 2, at + 2..at + 3]
    }

    /// The override a span belongs to, if it is synthetic.
    pub fn env_of(&self, span: &Range<usize>) -> Option<&EnvEntry> {
        let base = self.synthetic_base();
        if span.start < base {
            return None;
        }
        self.env.get((span.start - base) / 3)
    }

    /// Whether `span` is the value span of an override.
    fn is_env_value(&self, span: &Range<usize>) -> bool {
        span.start >= self.synthetic_base() && (span.start - self.synthetic_base()) % 3 == 1
    }

    /// File name and 1-based line of a span's start: the variable's name (as `$NAME`) and no
    /// line for overrides.
    pub fn locate(&self, span: &Range<usize>) -> (String, Option<usize>) {
        if let Some(env) = self.env_of(span) {
            return (format!("${}", env.name), None);
        }
        if span.start > self.len {
            return (self.file.clone(), None);
        }
        let line = self.line_starts.partition_point(|&s| s <= span.start);
        (self.file.clone(), Some(line.max(1)))
    }

    /// A located error for `key`, at `span` if known, else with no line.
    pub fn error(&self, span: Option<&Range<usize>>, key: String, message: String) -> ConfigError {
        let (file, line) = match span {
            Some(span) => self.locate(span),
            None => (self.file.clone(), None),
        };
        ConfigError {
            file,
            line,
            key,
            message,
        }
    }
}

/// Whether `inner` lies within `outer`.
fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

/// Appends to `path` the deepest key or element of `v` whose key or value span contains
/// `span`; returns whether one was found.
///
/// Every child is searched, since a `[[table]]` element's own span covers only its header.
pub(crate) fn find_path(v: &Value<'_>, span: &Range<usize>, path: &mut Vec<Seg>) -> bool {
    match v.get_ref() {
        DeValue::Table(t) => {
            for (k, child) in t.iter() {
                path.push(Seg::Key(k.get_ref().to_string()));
                if contains(&k.span(), span)
                    || find_path(child, span, path)
                    || contains(&child.span(), span)
                {
                    return true;
                }
                path.pop();
            }
        }
        DeValue::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if find_path(child, span, path) || contains(&child.span(), span) {
                    return true;
                }
                path.pop();
            }
        }
        _ => {}
    }
    false
}

/// The node at `path` below `v`.
fn node_mut<'v, 'i>(v: &'v mut Value<'i>, path: &[Seg]) -> Option<&'v mut Value<'i>> {
    let mut node = v;
    for seg in path {
        node = match (node.get_mut(), seg) {
            (DeValue::Table(t), Seg::Key(k)) => t.get_mut(k.as_str())?,
            (DeValue::Array(a), Seg::Index(i)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes the deepest table key on `path` (array elements are kept, so later indices stay
/// true to the file); returns the path of what was removed, or `None` if `path` names no key.
fn remove_deepest_key(v: &mut Value<'_>, path: &[Seg]) -> Option<Vec<Seg>> {
    let at = path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
    let Seg::Key(key) = &path[at] else {
        return None;
    };
    match node_mut(v, &path[..at])?.get_mut() {
        DeValue::Table(t) => t.remove(key.as_str()).map(|_| path[..=at].to_vec()),
        _ => None,
    }
}

/// Replaces the environment value that `path` lies in (if any) by its raw text as a string;
/// returns whether it did. This lets `WITMESH_NODE__ID=123` mean the string `"123"` when a
/// string is what the key wants.
fn stringify_env_value(v: &mut Value<'_>, path: &[Seg], src: &Source) -> bool {
    for depth in 0..=path.len() {
        let Some(node) = node_mut(v, &path[..depth]) else {
            return false;
        };
        let span = node.span();
        if src.is_env_value(&span) {
            if matches!(node.get_ref(), DeValue::String(_)) {
                return false;
            }
            let Some(env) = src.env_of(&span) else {
                return false;
            };
            *node = Spanned::new(span, DeValue::String(Cow::Owned(env.raw.clone())));
            return true;
        }
    }
    false
}

/// The field named by serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// A problem found while deserializing, before it is given a file and line.
#[derive(Debug)]
pub(crate) struct Problem {
    /// Full key path of the offending value.
    pub path: Vec<Seg>,
    /// Span of the offending value or key, when the deserializer gave one.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
}

/// Deserializes `value` (found at `base`) as `T`, collecting every problem: after each error
/// the offending key is removed (so its default applies) and deserialization is retried.
/// Returns `None` when the value could not be made to deserialize at all, e.g. because a
/// required key is missing.
pub(crate) fn deserialize_lenient<T: DeserializeOwned>(
    value: &Value<'_>,
    base: &[Seg],
    src: &Source,
) -> (Option<T>, Vec<Problem>) {
    const MAX_ATTEMPTS: usize = 256;
    let mut v = value.clone();
    let mut problems = Vec::new();
    let mut removed: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let err = match T::deserialize(ValueDeserializer::from(v.clone())) {
            Ok(t) => return (Some(t), problems),
            Err(e) => e,
        };
        let span = err.span();
        let mut path = Vec::new();
        if let Some(span) = span.as_ref().filter(|s| **s != v.span()) {
            find_path(&v, span, &mut path);
            if stringify_env_value(&mut v, &path, src) {
                continue;
            }
        }
        let message = err.message().to_owned();
        if let Some(field) = missing_field(&message) {
            let mut wanted = path.clone();
            wanted.push(Seg::Key(field.to_owned()));
            if removed.contains(&wanted) {
                // Only missing because an earlier problem removed it: drop the enclosing table
                // too, without a second report.
                match remove_deepest_key(&mut v, &path) {
                    Some(gone) => {
                        removed.push(gone);
                        continue;
                    }
                    None => return (None, problems),
                }
            }
        }
        let mut full = base.to_vec();
        full.extend(path.iter().cloned());
        problems.push(Problem {
            path: full,
            span,
            message,
        });
        match remove_deepest_key(&mut v, &path) {
            Some(gone) => removed.push(gone),
            None => return (None, problems),
        }
    }
    (None, problems)
}

/// Where each key of the merged document came from, by rendered key path, so checks made on
/// the typed config can point back at the file (or the overriding variable).
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    spans: HashMap<String, Range<usize>>,
}

impl SourceMap {
    /// Records every key and element of `root`.
    pub fn build(root: &DeTable<'_>, src: &Source) -> Self {
        let mut map = SourceMap::default();
        let mut path = Vec::new();
        for (k, v) in root.iter() {
            path.push(Seg::Key(k.get_ref().to_string()));
            map.record(&mut path, &k.span(), v, src);
            path.pop();
        }
        map
    }

    fn record(
        &mut self,
        path: &mut Vec<Seg>,
        key_span: &Range<usize>,
        v: &Value<'_>,
        src: &Source,
    ) {
        // An overridden value is reported against its variable, anything else at its key.
        let span = if src.env_of(&v.span()).is_some() {
            v.span()
        } else {
            key_span.clone()
        };
        self.spans.insert(render_path(path), span);
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, child) in t.iter() {
                    path.push(Seg::Key(k.get_ref().to_string()));
                    self.record(path, &k.span(), child, src);
                    path.pop();
                }
            }
            DeValue::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.record(path, &child.span(), child, src);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// The span of `key`, or of its nearest ancestor present in the document.
    pub fn span_of(&self, key: &str) -> Option<&Range<usize>> {
        let mut key = key;
        loop {
            if let Some(span) = self.spans.get(key) {
                return Some(span);
            }
            key = parent_key(key)?;
        }
    }

    /// Whether `key`'s value came from an environment override.
    pub fn set_by_env(&self, key: &str, src: &Source) -> bool {
        self.spans
            .get(key)
            .is_some_and(|span| src.env_of(span).is_some())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn paths_render_and_climb() {
        let p = [
            Seg::Key("components".into()),
            Seg::Index(1),
            Seg::Key("wasi".into()),
            Seg::Key("env".into()),
            Seg::Key("A.B".into()),
        ];
        let s = render_path(&p);
        assert_eq!(s, "components[1].wasi.env.\"A.B\"");
        let up = parent_key(&s).unwrap();
        assert_eq!(up, "components[1].wasi.env");
        let up = parent_key(parent_key(up).unwrap()).unwrap();
        assert_eq!(up, "components[1]");
        assert_eq!(parent_key(up), Some("components"));
        assert_eq!(parent_key("components"), Some(""));
        assert_eq!(parent_key(""), None);
    }

    #[test]
    fn lines_are_one_based() {
        let src = Source::new("f.toml", "a = 1\nb = 2\n\nc = 3");
        assert_eq!(src.locate(&(0..1)), ("f.toml".into(), Some(1)));
        assert_eq!(src.locate(&(6..7)), ("f.toml".into(), Some(2)));
        assert_eq!(src.locate(&(13..14)), ("f.toml".into(), Some(4)));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        host: String,
        #[serde(default)]
        n: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default)]
        count: u32,
        #[serde(default)]
        inner: Vec<Inner>,
    }

    #[test]
    fn lenient_collects_every_problem() {
        let text = "name = 'x'\ncount = 'many'\nbogus = 1\ninner = [{ host = 1 }, { host = 'h', n = -1 }]\n";
        let (root, errs) = DeTable::parse_recoverable(text);
        assert!(errs.is_empty());
        let span = root.span();
        let root = Spanned::new(span, DeValue::Table(root.into_inner()));
        let src = Source::new("t.toml", text);
        let (out, problems) = deserialize_lenient::<Outer>(&root, &[], &src);
        let out = out.unwrap();
        assert_eq!(out.name, "x");
        assert_eq!(out.count, 0);
        let keys: Vec<String> = problems.iter().map(|p| render_path(&p.path)).collect();
        assert_eq!(keys, ["bogus", "count", "inner[0].host"], "{problems:?}");
        let lines: Vec<_> = problems
            .iter()
            .map(|p| src.locate(p.span.as_ref().unwrap()).1)
            .collect();
        assert_eq!(lines, [Some(3), Some(2), Some(4)]);
    }

    #[test]
    fn lenient_gives_up_on_missing_required_key() {
        let text = "count = 1\n";
        let (root, _) = DeTable::parse_recoverable(text);
        let span = root.span();
        let root = Spanned::new(span, DeValue::Table(root.into_inner()));
        let src = Source::new("t.toml", text);
        let (out, problems) = deserialize_lenient::<Outer>(&root, &[Seg::Key("o".into())], &src);
        assert!(out.is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].message, "missing field `name`");
        assert_eq!(render_path(&problems[0].path), "o");
    }
}
