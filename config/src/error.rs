//! Configuration problems: each one located by file, line and key path.

use std::fmt;

/// One problem with a configuration: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the offending value came from: the config file's name as given to the loader, or
    /// `$WITMESH_…` when an environment override supplied it.
    pub file: String,
    /// 1-based line in `file`, when the value has one (defaults and environment values do not).
    pub line: Option<usize>,
    /// Dotted key path of the offending value, e.g. `components[1].path` or `quic.listen`;
    /// empty for problems with the document as a whole (syntax errors, unreadable files).
    pub key: String,
    /// What is wrong, and where possible how to fix it.
    pub message: String,
}

impl ConfigError {
    /// A problem that has no line (yet); the loader fills in `line` from the key path.
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one load, in document order; never empty when returned as an error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems, in the order they are displayed.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no problem was found (never true for an error returned by the loader).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first problem whose key path is `key`, for tests and tooling.
    pub fn find(&self, key: &str) -> Option<&ConfigError> {
        self.0.iter().find(|e| e.key == key)
    }

    /// Orders problems by source: file lines first in line order, then line-less ones, keeping
    /// the discovery order among equals.
    pub(crate) fn sort(&mut self) {
        self.0.sort_by_key(|e| (e.line.is_none(), e.line));
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_line_and_key() {
        let mut e = ConfigError::new("witmesh.toml", "components[1].path", "no such file");
        assert_eq!(
            e.to_string(),
            "witmesh.toml: components[1].path: no such file"
        );
        e.line = Some(12);
        assert_eq!(
            e.to_string(),
            "witmesh.toml:12: components[1].path: no such file"
        );
        e.key.clear();
        assert_eq!(e.to_string(), "witmesh.toml:12: no such file");
    }

    #[test]
    fn errors_display_one_per_line_sorted() {
        let mut a = ConfigError::new("f", "a", "x");
        a.line = Some(9);
        let b = ConfigError::new("f", "b", "y");
        let mut c = ConfigError::new("f", "c", "z");
        c.line = Some(2);
        let mut all = ConfigErrors(vec![a, b, c]);
        all.sort();
        assert_eq!(all.to_string(), "f:2: c: z\nf:9: a: x\nf: b: y");
        assert_eq!(all.len(), 3);
        assert!(all.find("b").is_some());
    }
}
