//! The examples in `examples/` run against live sidecars and print the greeting: curl, Python
//! (standard library), Node (built-in fetch), and the native Rust wRPC server and client.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use witmesh_tests::components;
use witmesh_tests::harness::{path, target_bin, witmesh_bin, NatsServer, Program, Sidecar};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Runs `program ARGS` with `env`; its stdout, after checking it succeeded.
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn curl_python_and_node_call_the_greeter_through_the_gateway() {
    let nats = NatsServer::start();
    let s = Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--nats",
        &nats.url,
        "--quic",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ]);
    let http = s.ready.http.unwrap().to_string();
    let env = [("WITMESH_HTTP", http.as_str())];
    let dir = examples();
    let out = run("sh", &[path(&dir.join("curl/greet.sh")), "curl"], &env);
    assert!(out.contains("\"result\": \"Hello, curl!\""), "{out}");
    let out = run(
        "python3",
        &[path(&dir.join("python/greet.py")), "python"],
        &env,
    );
    assert_eq!(out, "Hello, python!\n");
    let out = run("node", &[path(&dir.join("node/greet.mjs")), "node"], &env);
    assert_eq!(out, "Hello, node!\n");
}

#[test]
fn the_native_rust_server_and_client_work_with_sidecars() {
    let nats = NatsServer::start();
    // The native server announces itself; a sidecar's relay finds it by discovery.
    let _server = Program::start(
        &target_bin("greeter-server"),
        &[
            "--nats",
            &nats.url,
            "--prefix",
            "native-greeter",
            "--greeting",
            "Native hello",
        ],
        "serving local:greeter-demo/greet",
    );
    let faults = Sidecar::start(&[
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "f",
        "--node-id",
        "f",
        "--quic",
        "127.0.0.1:0",
    ]);
    let a = Sidecar::start(&[
        "--component",
        path(components::relay()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "a",
        "--node-id",
        "a",
        "--quic",
        "127.0.0.1:0",
    ]);
    a.wait_for_log("discovered node native-greeter");
    let out = run(
        path(&witmesh_bin()),
        &[
            "call",
            "--nats",
            &nats.url,
            "--prefix",
            "a",
            "witmesh:relay/relay@0.1.0.greet",
            "\"mesh\"",
        ],
        &[],
    );
    assert_eq!(out, "\"Native hello, mesh!\"\n");

    // The native client calls a sidecar's greeter component.
    let s = Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "s",
        "--node-id",
        "s",
        "--quic",
        "127.0.0.1:0",
    ]);
    let out = run(
        path(&target_bin("greeter-client")),
        &["--nats", &nats.url, "--prefix", "s", "rust"],
        &[],
    );
    assert_eq!(out, "Hello, rust!\n");
    drop((faults, s));
}
