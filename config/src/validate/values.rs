//! Checks of single values: names, subjects, URLs, log filters, instance patterns.

/// Whether `s` is a plain name: letters, digits, `-`, `_` (and `.` when `dots`).
pub(super) fn is_name(s: &str, dots: bool) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (dots && c == '.'))
}

/// Why `s` is not a NATS subject prefix (dot-separated non-empty tokens without wildcards or
/// spaces), if it is not.
pub(super) fn subject_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("empty subject prefix; omit the key instead".into());
    }
    for token in s.split('.') {
        if token.is_empty() {
            return Some(format!(
                "`{s}` has an empty token; subjects are dot-separated words"
            ));
        }
        if token.contains(['*', '>']) || token.chars().any(char::is_whitespace) {
            return Some(format!(
                "`{s}` is not a subject prefix: no wildcards (`*`, `>`) or spaces"
            ));
        }
    }
    None
}

/// Why `url` is not a `scheme://host[:port]` URL with one of `schemes`, if it is not.
pub(super) fn url_problem(url: &str, schemes: &[&str]) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some(format!(
            "`{url}` has no scheme; write e.g. {}://host:port",
            schemes[0]
        ));
    };
    if !schemes.contains(&scheme) {
        return Some(format!(
            "`{url}` has scheme `{scheme}`; use one of {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Some(format!("`{url}` has an unclosed `[`")),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some(format!("`{url}` has no host"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Some(format!("`{url}` has `{port}` where a port number belongs"));
        }
    }
    None
}

/// Why `filter` is not a log filter, if it is not.
pub(super) fn log_filter_problem(filter: &str) -> Option<String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    if filter.trim().is_empty() {
        return Some("empty log filter; write e.g. \"info\" or \"info,witmesh=debug\"".into());
    }
    let is_level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let is_target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    };
    for directive in filter.split(',').map(str::trim) {
        let ok = match directive.split_once('=') {
            Some((target, level)) => is_target(target) && is_level(level),
            None => is_level(directive) || is_target(directive),
        };
        if !ok {
            return Some(format!(
                "`{directive}` is not a log directive; use a level ({}) or target=level",
                LEVELS.join(", ")
            ));
        }
    }
    None
}

/// Why `pattern` is not an instance pattern, if it is not.
pub(super) fn instance_problem(pattern: &str) -> Option<String> {
    let head = pattern.strip_suffix('*').unwrap_or(pattern);
    if head.contains('*') {
        return Some(format!(
            "`{pattern}` may only end in `*`; a `*` elsewhere matches nothing"
        ));
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some(format!("`{pattern}` contains spaces"));
    }
    if head.len() == pattern.len() && !(head.contains(':') && head.contains('/')) {
        return Some(format!(
            "`{pattern}` is not a WIT instance name like \"wasi:keyvalue/store@0.2.0-draft\" (end it in `*` to match a prefix)"
        ));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::validate::NATS_SCHEMES;

    #[test]
    fn urls() {
        assert_eq!(url_problem("nats://127.0.0.1:4222", NATS_SCHEMES), None);
        assert_eq!(
            url_problem("tls://user:pw@nats.example:4443", NATS_SCHEMES),
            None
        );
        assert_eq!(url_problem("wss://[::1]:443/path", NATS_SCHEMES), None);
        assert_eq!(url_problem("nats://demo.nats.io", NATS_SCHEMES), None);
        assert!(url_problem("http://x:1", NATS_SCHEMES)
            .unwrap()
            .contains("scheme `http`"));
        assert!(url_problem("127.0.0.1:4222", NATS_SCHEMES)
            .unwrap()
            .contains("no scheme"));
        assert!(url_problem("nats://:4222", NATS_SCHEMES)
            .unwrap()
            .contains("no host"));
        assert!(url_problem("nats://h:x", NATS_SCHEMES)
            .unwrap()
            .contains("port"));
    }

    #[test]
    fn subjects_and_instances() {
        assert_eq!(subject_problem("default.greeter"), None);
        assert!(subject_problem("a..b").is_some());
        assert!(subject_problem("a.*").is_some());
        assert!(subject_problem("").is_some());
        assert_eq!(instance_problem("wasi:keyvalue/store@0.2.0-draft"), None);
        assert_eq!(instance_problem("wasi:keyvalue/*"), None);
        assert_eq!(instance_problem("*"), None);
        assert!(instance_problem("wasi:*/store").is_some());
        assert!(instance_problem("store").is_some());
    }

    #[test]
    fn log_filters() {
        assert_eq!(log_filter_problem("info"), None);
        assert_eq!(
            log_filter_problem("info,witmesh=debug,wasmtime::runtime=warn"),
            None
        );
        assert_eq!(log_filter_problem("witmesh"), None);
        assert!(log_filter_problem("").is_some());
        assert!(log_filter_problem("witmesh=loud").is_some());
    }
}
