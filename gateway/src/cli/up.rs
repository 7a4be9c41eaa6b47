//! `witmesh up`: serve components until SIGTERM or SIGINT, then drain.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use witmesh_config::{ComponentConfig, Config, ValidateOptions, EXIT_CONFIG_ERROR};

use super::Failure;
use crate::node::{ComponentSource, Node};
use crate::telemetry;

/// The demo component served when no component is configured: the greeter of
/// `local:greeter-demo/greet`, built from `tests/components/greeter`.
const BUNDLED_GREETER: &[u8] = include_bytes!("../../assets/greeter.wasm");

/// Where `witmesh up` writes the development certificate unless told otherwise, relative to
/// the working directory; clients add it to their trusted roots.
pub const DEFAULT_DEV_CERT_OUT: &str = ".witmesh/dev-cert.pem";

/// Options of `witmesh up`; each flag overrides the configuration key it names.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Configuration file (TOML). Without it, defaults apply.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A component to serve (repeatable); `[[components]]` with defaults, named after the file.
    #[arg(long = "component", value_name = "PATH")]
    components: Vec<PathBuf>,
    /// Serve over NATS at this URL (`nats.url`, and enables NATS).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// NATS subject prefix (`nats.prefix`), e.g. `<lattice>.<component-id>` for wasmCloud callers.
    #[arg(long, value_name = "PREFIX")]
    nats_prefix: Option<String>,
    /// QUIC listen address (`quic.listen`); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    quic: Option<SocketAddr>,
    /// TLS certificate chain for QUIC, PEM (`quic.cert`).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key for QUIC, PEM (`quic.key`).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where to write the development certificate for clients (`quic.dev_ca_out`).
    #[arg(long, value_name = "PEM")]
    dev_ca_out: Option<PathBuf>,
    /// Route an imported instance (repeatable): `INSTANCE=nats:PREFIX` or
    /// `INSTANCE=quic://HOST:PORT` (a `[[routes]]` entry).
    #[arg(long = "route", value_name = "INSTANCE=TARGET")]
    routes: Vec<String>,
    /// A PEM certificate (CA, or a peer's development certificate) trusted when dialling QUIC
    /// peers (repeatable; `quic.trusted_ca`).
    #[arg(long = "ca", value_name = "PEM")]
    cas: Vec<PathBuf>,
    /// This node's id in the mesh, logs and failure reports (`node.id`).
    #[arg(long, value_name = "ID")]
    node_id: Option<String>,
    /// HTTP/JSON gateway listen address (`http.listen`, and enables it): POST
    /// /v1/call/{instance}/{function}; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Serve a wasi:http component on the HTTP listener (repeatable): `PREFIX=COMPONENT`, or
    /// `HOST/PREFIX=COMPONENT` for one host; `PREFIX=@mesh` (or `@mesh:LINK`) forwards the
    /// requests to a node of the mesh serving one (an `[[http.routes]]` entry; needs --http).
    #[arg(long = "http-route", value_name = "PREFIX=COMPONENT|@mesh")]
    http_routes: Vec<String>,
    /// Admin listen address (`admin.listen`, and enables it): health, readiness, peers and
    /// routes as JSON; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    admin: Option<SocketAddr>,
}

/// Why the flags could not be applied.
enum ApplyError {
    /// A flag that stands for a configuration entry is malformed.
    Config(witmesh_config::ConfigErrors),
    /// Anything else (a directory that cannot be made).
    Other(Failure),
}

impl From<witmesh_config::ConfigErrors> for ApplyError {
    fn from(e: witmesh_config::ConfigErrors) -> Self {
        ApplyError::Config(e)
    }
}

impl UpArgs {
    /// What the flags change in the configuration, before it is validated.
    fn apply(&self, cfg: &mut Config) -> Result<(), ApplyError> {
        for path in &self.components {
            let name = path
                .file_stem()
                .map(|s| {
                    s.to_string_lossy().replace(
                        |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                        "-",
                    )
                })
                .unwrap_or_else(|| "component".to_owned());
            cfg.components
                .push(ComponentConfig::new(name, path.clone()));
        }
        if let Some(url) = &self.nats {
            cfg.nats.enabled = true;
            cfg.nats.url.clone_from(url);
        }
        if let Some(prefix) = &self.nats_prefix {
            cfg.nats.prefix = Some(prefix.clone());
        }
        if let Some(addr) = self.quic {
            cfg.quic.enabled = true;
            cfg.quic.listen = addr;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            cfg.quic.cert = Some(cert.clone());
            cfg.quic.key = Some(key.clone());
            cfg.quic.dev_ca_out = None;
        }
        if let Some(out) = &self.dev_ca_out {
            cfg.quic.dev_ca_out = Some(out.clone());
        }
        if let Some(id) = &self.node_id {
            cfg.node.id.clone_from(id);
        }
        if let Some(addr) = self.http {
            cfg.http.enabled = true;
            cfg.http.listen = addr;
        }
        if let Some(addr) = self.admin {
            cfg.admin.enabled = true;
            cfg.admin.listen = addr;
        }
        cfg.quic.trusted_ca.extend(self.cas.iter().cloned());
        cfg.add_route_flags(&self.routes, &self.http_routes)?;
        if cfg.quic.enabled && cfg.quic.cert.is_none() && cfg.quic.dev_ca_out.is_none() {
            let out = PathBuf::from(DEFAULT_DEV_CERT_OUT);
            if let Some(dir) = out.parent() {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return Err(ApplyError::Other(Failure::new(format!(
                        "cannot create `{}` for the development certificate: {e}",
                        dir.display()
                    ))));
                }
            }
            cfg.quic.dev_ca_out = Some(out);
        }
        // Without components the bundled demo is served.
        if cfg.components.is_empty() {
            cfg.components
                .push(ComponentConfig::bundled("greeter", "<bundled greeter>"));
        }
        Ok(())
    }

    fn config(&self) -> Result<(Config, bool), Failure> {
        let what = self.config.as_ref().map_or_else(
            || "the configuration".to_owned(),
            |p| p.display().to_string(),
        );
        let bad = |e: witmesh_config::ConfigErrors| Failure {
            message: format!("{what} is not valid:\n{e}"),
            status: EXIT_CONFIG_ERROR as u8,
        };
        // One validation of the file, the environment and the flags together.
        let mut failed = None;
        let mut apply = |cfg: &mut Config| match self.apply(cfg) {
            Ok(()) => Ok(()),
            Err(ApplyError::Config(e)) => Err(e),
            Err(ApplyError::Other(f)) => {
                failed = Some(f);
                Ok(())
            }
        };
        let loaded = Config::load_overridden(
            self.config.as_deref(),
            &ValidateOptions::default(),
            &mut apply,
        );
        if let Some(f) = failed {
            return Err(f);
        }
        let cfg = loaded.map_err(bad)?;
        let bundled = cfg.components.iter().any(|c| c.bundled.0);
        Ok((cfg, bundled))
    }
}

/// Runs `witmesh up`.
pub(crate) fn run(args: UpArgs) -> Result<(), Failure> {
    let (cfg, bundled) = args.config()?;
    let traces = telemetry::init(&cfg.telemetry).map_err(Failure::new)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = rt.block_on(serve(cfg, bundled));
    drop(rt);
    if let Some(traces) = traces {
        traces.shutdown();
    }
    served
}

async fn serve(cfg: Config, bundled: bool) -> Result<(), Failure> {
    let sources = cfg
        .components
        .iter()
        .map(|c| ComponentSource {
            config: c,
            bytes: bundled.then_some(BUNDLED_GREETER),
        })
        .collect();
    let node = Node::start(&cfg, sources).await?;
    println!("{}", node.ready_line);
    if cfg.quic.enabled {
        if let Some(out) = cfg
            .quic
            .dev_ca_out
            .as_ref()
            .filter(|_| node.dev_cert_pem.is_some())
        {
            eprintln!(
                "QUIC uses a development certificate for {}; clients trust it from {}",
                crate::transport::tls::DEV_CERT_NAMES.join(", "),
                out.display()
            );
        }
    }
    if bundled {
        eprintln!(
            "serving the demo greeter: call local:greeter-demo/greet.greet with a wRPC client (server name localhost)"
        );
    }
    wait_for_signal().await?;
    tracing::info!("draining: no new calls; waiting for in-flight calls");
    if node.drain().await {
        tracing::info!("drained; exiting");
    } else {
        tracing::warn!("drain timeout reached with calls still running; exiting");
    }
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
