//! The effective configuration as the admin listener shows it: everything, with what could be
//! a secret replaced by `"***"` (passwords and tokens in URLs, components' environment values).

use serde_json::Value;
use witmesh_config::Config;

/// What a hidden value reads as.
pub const HIDDEN: &str = "***";

/// `cfg` as JSON, secrets hidden.
pub fn redacted(cfg: &Config) -> Value {
    let mut v = serde_json::to_value(cfg).unwrap_or(Value::Null);
    if let Some(Value::String(s)) = v.pointer_mut("/nats/url") {
        *s = hide_userinfo(s);
    }
    if let Some(Value::String(s)) = v.pointer_mut("/telemetry/otlp_endpoint") {
        *s = hide_userinfo(s);
    }
    if let Some(Value::Array(components)) = v.pointer_mut("/components") {
        for c in components {
            if let Some(Value::Object(env)) = c.pointer_mut("/wasi/env") {
                for value in env.values_mut() {
                    *value = Value::String(HIDDEN.to_owned());
                }
            }
        }
    }
    v
}

/// `scheme://user:password@host` → `scheme://***@host`; other text unchanged.
fn hide_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{HIDDEN}{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden() {
        assert_eq!(hide_userinfo("nats://u:p@h:4222"), "nats://***@h:4222");
        assert_eq!(hide_userinfo("nats://h:4222"), "nats://h:4222");
        assert_eq!(hide_userinfo("http://h/a@b"), "http://h/a@b");
        assert_eq!(hide_userinfo("tls://tok@h"), "tls://***@h");
    }
}
