//! Runs the `witmesh` binary as users do and checks what it prints and how it exits.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn witmesh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_witmesh"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failed command: non-zero exit, one clear `error:` sentence, never a panic or backtrace.
fn assert_clean_failure(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        stdout(o)
    );
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.contains(needle), "stderr lacks `{needle}`: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
}

const EVERY: &str = "tests/wit/every-type";

#[test]
fn version_names_the_binary() {
    let o = witmesh(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        format!("witmesh {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn inspect_prints_the_wasi_http_world() {
    let o = witmesh(&["wit", "inspect", "proto-wit/wit"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let incoming = out
        .lines()
        .position(|l| {
            l.trim_start()
                .starts_with("interface wasi:http/incoming-handler@0.2.")
        })
        .unwrap_or_else(|| panic!("no incoming-handler in:\n{out}"));
    assert_eq!(
        out.lines().nth(incoming + 1).unwrap().trim(),
        "handle: func(request: incoming-request, response-out: response-outparam)"
    );
    assert!(out.contains("world wasi:http/proxy@0.2."), "{out}");
    assert!(
        out.contains("export wasi:http/incoming-handler@0.2."),
        "{out}"
    );
}

#[test]
fn inspect_json_lists_functions_with_signatures() {
    let o = witmesh(&["wit", "inspect", EVERY, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pkg = &j["packages"][0];
    assert_eq!(pkg["name"], "witmesh:every-type@0.1.0");
    let echo = pkg["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "witmesh:every-type/echo@0.1.0")
        .unwrap();
    let sig = echo["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "echo-many")
        .unwrap()["signature"]
        .clone();
    assert_eq!(
        sig,
        "echo-many: func(a: u32, b: string, c: list<u8>, d: option<bool>) -> tuple<u32, string, list<u8>, option<bool>>"
    );
}

#[test]
fn encode_and_decode_round_trip_in_wave_and_json() {
    let target = "witmesh:every-type/echo@0.1.0.echo-many";
    let o = witmesh(&[
        "wit",
        "encode",
        "--wit",
        EVERY,
        target,
        "300",
        "\"hi\"",
        "[9]",
        "some(true)",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "ac02026869010901 01".replace(' ', ""));

    let o = witmesh(&[
        "wit",
        "decode",
        "--wit",
        EVERY,
        target,
        "--params",
        "0xac02 0268 6901 0901 01",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "300\n\"hi\"\n[9]\nsome(true)\n");

    let o = witmesh(&[
        "wit",
        "decode",
        "--wit",
        EVERY,
        target,
        "--params",
        "ac02026869010901 01",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), r#"[300,"hi","CQ==",true]"#);

    let o = witmesh(&[
        "wit", "encode", "--wit", EVERY, target, "--json", "300", "\"hi\"", "\"CQ==\"", "true",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "ac0202686901090101");

    // Results: echo-variant returns a shape.
    let t = "witmesh:every-type/echo@0.1.0.echo-variant";
    let o = witmesh(&[
        "wit",
        "encode",
        "--wit",
        EVERY,
        t,
        "--results",
        "rect({x: 1, y: -2})",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "01017e");
    let o = witmesh(&["wit", "decode", "--wit", EVERY, t, "--results", "01017e"]);
    assert_eq!(stdout(&o).trim(), "rect({x: 1, y: -2})");
}

#[test]
fn unknown_functions_and_instances_list_what_is_known() {
    let o = witmesh(&[
        "wit",
        "encode",
        "--wit",
        EVERY,
        "witmesh:every-type/echo@0.1.0.nope",
        "1",
    ]);
    assert_clean_failure(
        &o,
        "unknown function `nope` in `witmesh:every-type/echo@0.1.0` (known: echo-bool, echo-s8",
    );
    let o = witmesh(&["wit", "encode", "--wit", EVERY, "nothing.here", "1"]);
    assert_clean_failure(&o, "`nothing.here` names no function");
}

#[test]
fn bad_wave_bad_hex_and_bad_bytes_are_one_clear_sentence() {
    let t = "witmesh:every-type/echo@0.1.0.echo-record";
    let o = witmesh(&["wit", "encode", "--wit", EVERY, t, "{x: 1, y: \"two\"}"]);
    assert_clean_failure(&o, "param v: invalid WAVE for point");
    let o = witmesh(&["wit", "encode", "--wit", EVERY, t]);
    assert_clean_failure(&o, "takes 1 parameter(s) but 0 value(s) were given");
    let o = witmesh(&["wit", "decode", "--wit", EVERY, t, "--params", "zz"]);
    assert_clean_failure(&o, "`zz` is not hex");
    let o = witmesh(&["wit", "decode", "--wit", EVERY, t, "--params", "02"]);
    assert_clean_failure(&o, "param v.y: input ends inside the value");
}

#[test]
fn bad_wit_is_reported_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.wit");
    std::fs::write(
        &file,
        "package a:b;\ninterface i {\n  f: func(x: nosuchtype);\n}\n",
    )
    .unwrap();
    let o = witmesh(&["wit", "inspect", file.to_str().unwrap()]);
    assert_clean_failure(&o, "invalid WIT in");
    assert!(stderr(&o).contains("nosuchtype"), "{}", stderr(&o));
    let o = witmesh(&["wit", "inspect", "/no/such/path.wit"]);
    assert_clean_failure(&o, "cannot read WIT from `/no/such/path.wit`");
}

#[test]
fn config_check_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("witmesh.toml");
    std::fs::write(
        &file,
        "[quic]\nlisten = \"not-an-address\"\ncolour = \"blue\"\n\n[[components]]\nname = \"greeter\"\npath = \"missing.wasm\"\ncall_timeout = \"forever\"\n\n[[routes]]\ninstance = \"wasi:keyvalue/store@0.2.0-draft\"\nvia = \"quic\"\npeers = [\"ghost\"]\n",
    )
    .unwrap();
    let o = witmesh(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    let err = stderr(&o);
    for needle in [
        "witmesh.toml:2: quic.listen: `not-an-address` is not an ip:port address",
        "witmesh.toml:3: quic.colour: unknown field `colour`",
        "witmesh.toml:7: components[0].path: no such file",
        "witmesh.toml:8: components[0].call_timeout:",
        "witmesh.toml:13: routes[0].peers[0]: no peer named `ghost`",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn config_check_accepts_the_examples() {
    let o = witmesh(&["config", "check", "config/examples/minimal.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "ok");
}

#[test]
fn bad_routes_and_mesh_keys_are_configuration_errors() {
    for (spec, needle) in [
        ("local:greeter-demo/greet", "is not INSTANCE=nats:PREFIX"),
        (
            "local:greeter-demo/greet=http://x:1",
            "must start with `nats:` or `quic://`",
        ),
        ("local:greeter-demo/greet=quic://nohost", "is not HOST:PORT"),
    ] {
        let o = witmesh(&["up", "--route", spec, "--quic", "127.0.0.1:0"]);
        assert_clean_failure(&o, needle);
        assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    }
    // A NATS route on a node without NATS, and mesh keys out of range: all reported at once.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[mesh]\nmax_attempts = 0\nannounce_interval = \"2s\"\nannounce_ttl = \"1s\"\nidempotent = [\"nope\"]\n\n[[routes]]\ninstance = \"local:greeter-demo/greet\"\nvia = \"nats\"\nnats_prefix = \"b\"\n",
    )
    .unwrap();
    let o = witmesh(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    let err = stderr(&o);
    for key in [
        "mesh.max_attempts",
        "mesh.announce_ttl",
        "mesh.idempotent[0]",
        "routes[0].via",
    ] {
        assert!(err.contains(key), "`{key}` not reported: {err}");
    }
}
