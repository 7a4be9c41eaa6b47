//! Typed configuration for a witmesh node, loaded from one TOML file.
//!
//! ```no_run
//! let config = match witmesh_config::Config::load("witmesh.toml") {
//!     Ok(config) => config,
//!     Err(errors) => {
//!         eprintln!("{errors}");
//!         std::process::exit(witmesh_config::EXIT_CONFIG_ERROR);
//!     }
//! };
//! # let _ = config;
//! ```
//!
//! Loading is one pass that reports every problem at once, each with file, line and key path
//! ([`ConfigError`]): syntax errors, unknown keys, wrong types, and semantic problems such as
//! a route naming an unknown peer. Every key has a default (the `DEFAULT_*` constants), so an
//! empty file is a valid config. `WITMESH_<SECTION>__<KEY>` environment variables override
//! the file; see [`Config::load_with_env`].

mod addr;
mod document;
mod env;
mod error;
mod flags;
mod load;
mod sections;
mod units;
mod validate;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use addr::{HostPort, SocketPattern};
pub use env::{ENV_PREFIX, ENV_SEPARATOR, RESERVED_ENV_VARS};
pub use error::{ConfigError, ConfigErrors};
pub use load::Overrides;
pub use sections::*;
pub use units::{ByteSize, HumanDuration};
pub use validate::{ValidateOptions, MIN_MEMORY_LIMIT, NATS_SCHEMES};

/// Process exit code for an unusable configuration.
pub const EXIT_CONFIG_ERROR: i32 = 64; // EX_USAGE, as linkerd and sysexits use

/// A witmesh node's whole configuration: one field per top-level section of the file.
///
/// Get one from [`Config::load`] (or its variants): deserializing it directly with serde skips
/// environment overrides, path resolution, filling in `transports`, and validation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[node]`: who this node is.
    pub node: NodeConfig,
    /// `[nats]`: the NATS connection.
    pub nats: NatsConfig,
    /// `[quic]`: the QUIC endpoint and peer trust.
    pub quic: QuicConfig,
    /// `[[components]]`: the components this node serves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentConfig>,
    /// `[[routes]]`: where calls to instances served elsewhere go.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// `[[peers]]`: the remote nodes routes send calls to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerConfig>,
    /// `[mesh]`: discovery, deadlines, retries and breakers for forwarded calls.
    pub mesh: MeshConfig,
    /// `[http]`: the HTTP/JSON gateway.
    pub http: HttpConfig,
    /// `[admin]`: metrics and health.
    pub admin: AdminConfig,
    /// `[telemetry]`: logs and traces.
    pub telemetry: TelemetryConfig,
    /// `[limits]`: wire codec bounds.
    pub limits: LimitsConfig,
}

impl Config {
    /// Loads the file at `path` with the process environment's `WITMESH_` overrides, checking
    /// that the files it names exist.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        Self::load_with(path, process_env(), &ValidateOptions::default())
    }

    /// Loads the file at `path` with `env` in place of the process environment.
    ///
    /// Variables named `WITMESH_<SECTION>__<KEY>` (`__` also separates deeper keys, as in
    /// `WITMESH_NATS__TLS__CA`; names are matched case-insensitively after the prefix) set that
    /// key of a table section (`node`, `nats`, `quic`, `http`, `admin`, `telemetry`, `limits`)
    /// over the file's value. The value is read as TOML when it parses as a value (`true`,
    /// `8`, `["a"]`, `"text"`), else as a plain string; a value parsed as something other
    /// than a string is still taken as its text where the key wants a string. A `WITMESH_`
    /// variable that names no key is an error naming the variable, except those in
    /// [`RESERVED_ENV_VARS`]. Relative paths from variables are left relative to the working
    /// directory.
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        Self::load_with(path, env, &ValidateOptions::default())
    }

    /// Loads the file at `path` with `env` as the environment and `options` for validation.
    pub fn load_with(
        path: impl AsRef<Path>,
        env: impl IntoIterator<Item = (String, String)>,
        options: &ValidateOptions,
    ) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| load::unreadable(path, &e))?;
        load::load_text(
            &text,
            &path.display().to_string(),
            &load::base_dir(path),
            env.into_iter().collect(),
            options,
            &mut |_| Ok(()),
        )
    }

    /// Loads the file at `path` (or, without one, the defaults) with the process environment's
    /// `WITMESH_` overrides, applies `overrides` (the command line's flags), and validates the
    /// result once with `options`: problems in the file, the environment and the flags are
    /// reported together.
    pub fn load_overridden(
        path: Option<&Path>,
        options: &ValidateOptions,
        overrides: Overrides<'_>,
    ) -> Result<Config, ConfigErrors> {
        Self::load_overridden_with_env(path, process_env(), options, overrides)
    }

    /// [`Config::load_overridden`] with `env` in place of the process environment.
    pub fn load_overridden_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        options: &ValidateOptions,
        overrides: Overrides<'_>,
    ) -> Result<Config, ConfigErrors> {
        let (text, origin, base) = match path {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|e| load::unreadable(path, &e))?,
                path.display().to_string(),
                load::base_dir(path),
            ),
            None => (
                String::new(),
                "<defaults>".to_owned(),
                load::base_dir(Path::new("<defaults>")),
            ),
        };
        load::load_text(
            &text,
            &origin,
            &base,
            env.into_iter().collect(),
            options,
            overrides,
        )
    }

    /// Parses `src` as if read from the file `origin` (which names it in errors, and whose
    /// directory relative paths are resolved against), without environment overrides.
    pub fn from_str(src: &str, origin: &str) -> Result<Config, ConfigErrors> {
        Self::from_str_with(src, origin, Vec::new(), &ValidateOptions::default())
    }

    /// [`Config::from_str`] with `env` as the environment and `options` for validation.
    pub fn from_str_with(
        src: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
        options: &ValidateOptions,
    ) -> Result<Config, ConfigErrors> {
        load::load_text(
            src,
            origin,
            &load::base_dir(Path::new(origin)),
            env.into_iter().collect(),
            options,
            &mut |_| Ok(()),
        )
    }

    /// Runs the semantic checks on a config built or changed in code. Problems are reported
    /// against the file `<config>` without lines.
    pub fn validate_with(&self, options: &ValidateOptions) -> Result<(), ConfigErrors> {
        let findings = validate::check(self, options, &validate::DocIndex::default());
        if findings.is_empty() {
            return Ok(());
        }
        Err(ConfigErrors(
            findings
                .into_iter()
                .map(|f| ConfigError::new("<config>", f.key, f.message))
                .collect(),
        ))
    }

    /// The transports enabled in `[nats]` and `[quic]`: what components serve on by default.
    pub fn enabled_transports(&self) -> Vec<Transport> {
        load::enabled(self)
    }

    /// The peer named `name`.
    pub fn peer(&self, name: &str) -> Option<&PeerConfig> {
        self.peers.iter().find(|p| p.name == name)
    }

    /// The route for calls to `instance`: an exact match, else the wildcard route with the
    /// longest prefix that matches.
    pub fn route_for(&self, instance: &str) -> Option<&RouteConfig> {
        RouteConfig::best(&self.routes, instance)
    }
}

/// The process environment's `WITMESH_` variables; other variables are never read, so one
/// with a non-UTF-8 value elsewhere cannot get in the way.
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            k.starts_with(ENV_PREFIX)
                .then(|| (k, v.to_string_lossy().into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
