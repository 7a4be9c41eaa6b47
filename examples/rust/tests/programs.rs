//! The example programs on their own: the native client calls the native server over a
//! nats-server of the test's own, and each says clearly when NATS cannot be reached. (Being an
//! integration test of this package also makes cargo build both binaries, which
//! `tests/tests/e2e/examples.rs` runs beside sidecars.)

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use witmesh_tests::harness::{free_port, NatsServer, Program};

const SERVER: &str = env!("CARGO_BIN_EXE_greeter-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_greeter-client");

#[test]
fn the_client_greets_through_the_server() {
    let nats = NatsServer::start();
    let _server = Program::start(
        Path::new(SERVER),
        &[
            "--nats",
            &nats.url,
            "--prefix",
            "direct",
            "--greeting",
            "Hi",
        ],
        "serving local:greeter-demo/greet",
    );
    let out = Command::new(CLIENT)
        .args(["--nats", &nats.url, "--prefix", "direct", "ferris"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hi, ferris!\n");
}

#[test]
fn both_name_the_nats_server_they_cannot_reach() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    for bin in [SERVER, CLIENT] {
        let out = Command::new(bin).args(["--nats", &url]).output().unwrap();
        assert!(!out.status.success(), "{bin} succeeded without NATS");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("cannot connect to NATS at {url}")),
            "{bin}: {stderr}"
        );
    }
}
