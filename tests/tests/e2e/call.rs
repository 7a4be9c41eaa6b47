//! `witmesh call` and `witmesh describe` against live servers: a witmesh sidecar over NATS and
//! QUIC (with and without `--wit`) and a native `wit-bindgen-wrpc` server; every WIT type of
//! the every-type component through WAVE and JSON; each failure kind with its exit status.

#![allow(clippy::unwrap_used)]

use witmesh_proto::text::{json, wave};
use witmesh_proto::WitSet;
use witmesh_tests::harness::run_witmesh as witmesh;
use witmesh_tests::harness::{path, NatsServer, Sidecar};
use witmesh_tests::native::{serve_greeter, NativeGreeter};
use witmesh_tests::{components, EVERY_TYPE_VALUES};

fn sidecar(nats: &NatsServer) -> Sidecar {
    Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--component",
        path(components::every_type()),
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "s",
        "--quic",
        "127.0.0.1:0",
    ])
}

/// The `--nats`/`--quic` arguments that reach `s`.
fn over(s: &Sidecar, quic: bool) -> Vec<String> {
    if quic {
        vec![
            "--quic".into(),
            s.ready.quic.unwrap().to_string(),
            "--ca".into(),
            s.dir
                .path()
                .join(".witmesh/dev-cert.pem")
                .to_str()
                .unwrap()
                .into(),
        ]
    } else {
        vec![
            "--nats".into(),
            s.ready.nats.clone().unwrap(),
            "--prefix".into(),
            "s".into(),
        ]
    }
}

fn call(s: &Sidecar, quic: bool, rest: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = vec!["call".into()];
    args.extend(over(s, quic));
    args.extend(rest.iter().map(|a| (*a).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    witmesh(&refs)
}

#[test]
fn calls_a_sidecar_over_nats_and_quic_with_and_without_wit() {
    let nats = NatsServer::start();
    let s = sidecar(&nats);
    let greeter_wit = witmesh_tests::wit_dir("greeter");
    for quic in [false, true] {
        let (code, out, err) = call(&s, quic, &["local:greeter-demo/greet.greet", "\"world\""]);
        assert_eq!((code, out.as_str()), (0, "\"Hello, world!\"\n"), "{err}");
        let (code, out, err) = call(
            &s,
            quic,
            &[
                "--wit",
                path(&greeter_wit),
                "local:greeter-demo/greet.greet",
                "\"wit\"",
            ],
        );
        assert_eq!((code, out.as_str()), (0, "\"Hello, wit!\"\n"), "{err}");
        let (code, out, err) = call(
            &s,
            quic,
            &[
                "--json",
                "local:greeter-demo/greet.greet",
                r#"{"name":"json"}"#,
            ],
        );
        assert_eq!((code, out.as_str()), (0, "\"Hello, json!\"\n"), "{err}");
    }
    // describe prints the WIT the sidecar serves.
    let mut args = vec!["describe".to_owned()];
    args.extend(over(&s, false));
    args.push("local:greeter-demo/greet".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = witmesh(&refs);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("package local:greeter-demo;"), "{out}");
    assert!(
        out.contains("greet: func(name: string) -> string;"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_a_native_wit_bindgen_wrpc_server_with_wit() {
    let nats = NatsServer::start();
    let _server = serve_greeter(&nats.url, "native", NativeGreeter("Native hello"))
        .await
        .unwrap();
    let wit = witmesh_tests::wit_dir("greeter");
    let base = ["call", "--nats", &nats.url, "--prefix", "native"];
    let mut args = base.to_vec();
    args.extend([
        "--wit",
        path(&wit),
        "local:greeter-demo/greet.greet",
        "\"rust\"",
    ]);
    let (code, out, err) = witmesh(&args);
    assert_eq!(
        (code, out.as_str()),
        (0, "\"Native hello, rust!\"\n"),
        "{err}"
    );
    // Without --wit, a plain wRPC server cannot be asked for its WIT: a clear error.
    let mut args = base.to_vec();
    args.extend(["local:greeter-demo/greet.greet", "\"rust\""]);
    let (code, _, err) = witmesh(&args);
    assert_eq!(code, 69, "{err}");
    assert!(err.contains("pass --wit PATH"), "{err}");
}

#[test]
fn every_wit_type_goes_through_wave_and_json() {
    let nats = NatsServer::start();
    let s = sidecar(&nats);
    let set = WitSet::load(witmesh_tests::every_type_wit_dir()).unwrap();
    const ECHO: &str = "witmesh:every-type/echo@0.1.0";
    for (func, text) in EVERY_TYPE_VALUES {
        let target = format!("{ECHO}.{func}");
        let (code, out, err) = call(&s, false, &[&target, text]);
        assert_eq!(code, 0, "{func}: {err}");
        let f = set.func(ECHO, func).unwrap();
        let ty = &f.params[0];
        let sent = wave::from_wave(ty, text).unwrap();
        let got = wave::from_wave(&f.results[0], out.trim()).unwrap();
        assert_eq!(got, sent, "{func}: {out}");

        let as_json = json::to_json(ty, &sent);
        let doc = serde_json::Value::Array(vec![as_json.clone()]).to_string();
        let (code, out, err) = call(&s, true, &["--json", &target, &doc]);
        assert_eq!(code, 0, "{func} (JSON): {err}");
        let back: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(back, as_json, "{func} (JSON)");
    }
    // Several parameters, and none.
    let (code, out, err) = call(
        &s,
        false,
        &[
            &format!("{ECHO}.echo-many"),
            "300",
            "\"hi\"",
            "[9]",
            "some(true)",
        ],
    );
    assert_eq!(
        (code, out.trim()),
        (0, "(300, \"hi\", [9], some(true))"),
        "{err}"
    );
    let (code, out, err) = call(&s, false, &[&format!("{ECHO}.echo-unit")]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}

#[test]
fn each_failure_has_its_message_and_exit_status() {
    let nats = NatsServer::start();
    let s = sidecar(&nats);
    const ECHO: &str = "witmesh:every-type/echo@0.1.0";
    const FAULTS: &str = "witmesh:faults/faults@0.1.0";

    // A value that does not match the WIT: 65, naming the parameter and its type.
    let (code, _, err) = call(&s, false, &[&format!("{ECHO}.echo-record"), "{x: 1}"]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("parameter `v`") && err.contains("point"),
        "{err}"
    );
    let (code, _, err) = call(&s, false, &[&format!("{ECHO}.echo-u8"), "256"]);
    assert_eq!(code, 65, "{err}");
    let (code, _, err) = call(
        &s,
        true,
        &[
            "--json",
            &format!("{ECHO}.echo-record"),
            r#"[{"x": 1, "y": "no"}]"#,
        ],
    );
    assert_eq!(code, 65, "{err}");
    assert!(err.contains("y"), "names the field: {err}");

    // An unknown function or instance: 66.
    let (code, _, err) = call(&s, false, &[&format!("{ECHO}.echo-nothing")]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("echo-nothing"), "{err}");
    let (code, _, err) = call(&s, false, &["nope:nope/nope.f"]);
    assert_eq!(code, 66, "{err}");

    // A trap in the component: 70, with the sidecar's message.
    let (code, _, err) = call(&s, false, &[&format!("{FAULTS}.trap")]);
    assert_eq!(code, 70, "{err}");
    assert!(err.contains("trap"), "{err}");
    let (code, _, err) = call(&s, true, &[&format!("{FAULTS}.trap")]);
    assert_eq!(code, 70, "over QUIC too: {err}");

    // A deadline: 75.
    let (code, _, err) = call(
        &s,
        false,
        &["--timeout", "300ms", &format!("{FAULTS}.sleep"), "5000"],
    );
    assert_eq!(code, 75, "{err}");

    // Nothing there: 69.
    let (code, _, err) = witmesh(&[
        "call",
        "--nats",
        &nats.url,
        "--prefix",
        "nobody",
        "--wit",
        path(&witmesh_tests::wit_dir("greeter")),
        "local:greeter-demo/greet.greet",
        "\"x\"",
    ]);
    assert_eq!(code, 69, "{err}");
    let (code, _, err) = witmesh(&[
        "call",
        "--nats",
        "nats://127.0.0.1:1",
        "local:greeter-demo/greet.greet",
        "\"x\"",
    ]);
    assert_eq!(code, 69, "{err}");
    assert!(err.contains("cannot connect to NATS"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn via_calls_through_a_sidecars_router() {
    let nats = NatsServer::start();
    let b = Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "b",
        "--node-id",
        "b",
    ]);
    let a = Sidecar::start(&[
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "a",
        "--node-id",
        "a",
        "--quic",
        "127.0.0.1:0",
    ]);
    a.wait_for_log("discovered node b");
    let admin = a.ready.admin.unwrap().to_string();
    // Forwarded by A to B, which A found by discovery; types from B's reflected WIT.
    let (code, out, err) = witmesh(&[
        "call",
        "--via",
        &admin,
        "local:greeter-demo/greet.greet",
        "\"via\"",
    ]);
    assert_eq!((code, out.as_str()), (0, "\"Hello, via!\"\n"), "{err}");
    let (code, out, err) = witmesh(&[
        "call",
        "--via",
        &admin,
        "--json",
        "witmesh:faults/faults@0.1.0.ok",
        "[1]",
    ]);
    assert_eq!((code, out.as_str()), (0, "2\n"), "{err}");
    // The same exit statuses as a direct call.
    let (code, _, err) = witmesh(&[
        "call",
        "--via",
        &admin,
        "local:greeter-demo/greet.greet",
        "5",
    ]);
    assert_eq!(code, 65, "{err}");
    let (code, _, err) = witmesh(&["call", "--via", &admin, "witmesh:faults/faults@0.1.0.trap"]);
    assert_eq!(code, 70, "{err}");
    assert!(err.contains("trap"), "{err}");
    let (code, _, err) = witmesh(&["call", "--via", &admin, "nope:nope/nope.f"]);
    assert_eq!(code, 66, "{err}");
    // describe through the admin listener.
    let (code, out, err) = witmesh(&["describe", "--via", &admin, "local:greeter-demo/greet"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("greet: func(name: string) -> string;"),
        "{out}"
    );
    drop(b);
}
