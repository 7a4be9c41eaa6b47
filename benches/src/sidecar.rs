//! The servers the harness measures, started through the tests' harness (each killed when
//! dropped): the two-hop mesh of witmesh sidecars, the every-type sidecar of `--serve`, the
//! examples' native `greeter-server` and upstream's `wrpc-wasmtime` host.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context as _, Result};
use witmesh_tests::components;
use witmesh_tests::harness::{path, NatsServer, Program, Sidecar};

use crate::payload::{
    A_PREFIX, B_PREFIX, FAULTS, GREET, NATIVE_PREFIX, UPSTREAM_PREFIX, WITMESH_PREFIX,
};

/// Discovery off: every sidecar of the mesh is reached by explicit routes.
pub const NO_DISCOVERY: [(&str, &str); 1] = [("WITMESH_MESH__DISCOVERY", "false")];

/// The two-hop mesh: `b` serves the greeter and faults components over NATS ([`B_PREFIX`]),
/// QUIC and HTTP; `a_nats` and `a_quic` serve the relay component, whose imports are routed to
/// `b` over NATS and over QUIC respectively.
pub struct Mesh {
    /// The serving sidecar.
    pub b: Sidecar,
    /// The relay forwarding to `b` over NATS ([`A_PREFIX`]).
    pub a_nats: Sidecar,
    /// The relay forwarding to `b` over QUIC.
    pub a_quic: Sidecar,
}

impl Mesh {
    /// Starts the three sidecars on `nats`, each ready when this returns.
    pub fn start(nats: &NatsServer) -> Result<Self> {
        let b = Sidecar::start_with_env(
            &[
                "--component",
                path(components::greeter()),
                "--component",
                path(components::faults()),
                "--nats",
                &nats.url,
                "--nats-prefix",
                B_PREFIX,
                "--quic",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--node-id",
                "b",
            ],
            &NO_DISCOVERY,
        );
        let b_quic = format!("quic://{}", b.ready.quic.context("b serves no QUIC")?);
        let b_cert = b.dir.path().join(".witmesh/dev-cert.pem");
        let relay = path(components::relay());
        let routes_nats = [
            format!("{GREET}=nats:{B_PREFIX}"),
            format!("{FAULTS}=nats:{B_PREFIX}"),
        ];
        let a_nats = Sidecar::start_with_env(
            &[
                "--component",
                relay,
                "--nats",
                &nats.url,
                "--nats-prefix",
                A_PREFIX,
                "--quic",
                "127.0.0.1:0",
                "--node-id",
                "a-nats",
                "--route",
                &routes_nats[0],
                "--route",
                &routes_nats[1],
            ],
            &NO_DISCOVERY,
        );
        let routes_quic = [format!("{GREET}={b_quic}"), format!("{FAULTS}={b_quic}")];
        let a_quic = Sidecar::start_with_env(
            &[
                "--component",
                relay,
                "--quic",
                "127.0.0.1:0",
                "--node-id",
                "a-quic",
                "--route",
                &routes_quic[0],
                "--route",
                &routes_quic[1],
                "--ca",
                path(&b_cert),
            ],
            &NO_DISCOVERY,
        );
        Ok(Mesh { b, a_nats, a_quic })
    }
}

/// The `--serve` mode's sidecar: the every-type component over NATS ([`WITMESH_PREFIX`]) and
/// QUIC on a free port.
#[must_use]
pub fn echo_sidecar(nats: &NatsServer) -> Sidecar {
    Sidecar::start(&[
        "--component",
        path(components::every_type()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        WITMESH_PREFIX,
        "--quic",
        "127.0.0.1:0",
    ])
}

/// The examples' native `greeter-server` beside the `witmesh` binary `bin`, serving over NATS
/// under [`NATIVE_PREFIX`]; ready when this returns.
pub fn greeter_server(bin: &Path, nats: &NatsServer) -> Result<Program> {
    let greeter_server = bin.with_file_name("greeter-server");
    ensure!(
        greeter_server.is_file(),
        "{} is missing: build the examples too (cargo build --release --workspace)",
        greeter_server.display()
    );
    Ok(Program::start(
        &greeter_server,
        &[
            "--nats",
            &nats.url,
            "--prefix",
            NATIVE_PREFIX,
            "--lattice",
            "side-by-side",
        ],
        "serving local:greeter-demo/greet",
    ))
}

/// Upstream's own host (`wrpc-wasmtime`, wrpc 0.17) serving the greeter component over NATS
/// under [`UPSTREAM_PREFIX`], if it is on PATH. It prints nothing to wait for: it is ready when
/// a call succeeds.
#[must_use]
pub fn upstream_host(nats: &NatsServer) -> Option<Program> {
    which("wrpc-wasmtime").map(|up| {
        Program::spawn(
            &up,
            &[
                "nats",
                "serve",
                "--nats",
                &nats.url,
                UPSTREAM_PREFIX,
                path(components::greeter()),
            ],
        )
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
