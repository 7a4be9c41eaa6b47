//! Published WASI WIT as a user points witmesh at it (`tests/wit/published`, vendored
//! unchanged): WASI 0.2.6 with its feature gates and WASI 0.3.0 with `async func`, streams
//! and futures load, inspect, and drive the codec through the CLI.

#![allow(clippy::unwrap_used)]

use witmesh_tests::harness::{path, run_witmesh};
use witmesh_tests::wit_dir;

fn published(name: &str) -> std::path::PathBuf {
    wit_dir("published").join(name)
}

/// Runs `witmesh ARGS`, which must succeed, and returns its stdout.
fn ok(args: &[&str]) -> String {
    let (status, out, err) = run_witmesh(args);
    assert_eq!(status, 0, "witmesh {args:?} failed:\n{err}");
    out
}

/// `witmesh wit decode --wit DIR TARGET --results HEX`, trimmed.
fn decode_results(dir: &std::path::Path, target: &str, hex: &str) -> String {
    ok(&[
        "wit",
        "decode",
        "--wit",
        path(dir),
        target,
        "--results",
        hex,
    ])
    .trim()
    .to_owned()
}

#[test]
fn wasi_0_2_6_http_loads_with_its_unstable_items_left_out() {
    let dir = published("wasi-0.2.6-http");
    let out = ok(&["wit", "inspect", path(&dir)]);
    assert!(out.contains("package wasi:http@0.2.6"), "{out}");
    assert!(
        out.contains("handle: func(request: incoming-request, response-out: response-outparam)"),
        "{out}"
    );
    assert!(
        out.contains("get-random-bytes: func(len: u64) -> list<u8>"),
        "{out}"
    );
    assert!(
        !out.contains("timezone"),
        "gated items are left out:\n{out}"
    );
}

#[test]
fn wasi_0_2_6_unstable_items_load_when_their_feature_is_enabled() {
    let dir = published("wasi-0.2.6-http");
    let out = ok(&[
        "wit",
        "inspect",
        path(&dir),
        "--wit-features",
        "clocks-timezone",
    ]);
    assert!(
        out.contains("interface wasi:clocks/timezone@0.2.6"),
        "{out}"
    );
    assert!(
        out.contains(
            "utc-offset: func(when: datetime) -> s32  [unstable (feature clocks-timezone)]"
        ),
        "{out}"
    );
    let all = ok(&["wit", "inspect", path(&dir), "--all-wit-features"]);
    assert!(
        all.contains("interface wasi:clocks/timezone@0.2.6"),
        "{all}"
    );

    // The gated function drives the codec: a record parameter, a negative result.
    let target = "wasi:clocks/timezone@0.2.6.utc-offset";
    let wit = ["--wit", path(&dir), "--wit-features", "clocks-timezone"];
    let mut encode = vec!["wit", "encode"];
    encode.extend(wit);
    encode.extend([target, "{seconds: 1, nanoseconds: 0}"]);
    assert_eq!(ok(&encode).trim(), "0100");
    let mut decode = vec!["wit", "decode"];
    decode.extend(wit);
    decode.extend([target, "--results", "f063"]);
    assert_eq!(ok(&decode).trim(), "-3600");

    // Without the feature the function does not exist, and the error says what does.
    let (status, _, err) = run_witmesh(&[
        "wit",
        "encode",
        "--wit",
        path(&dir),
        target,
        "{seconds: 1, nanoseconds: 0}",
    ]);
    assert_ne!(status, 0);
    assert!(err.contains("wasi:clocks/timezone@0.2.6"), "{err}");
}

#[test]
fn wasi_0_2_6_byte_results_decode() {
    let dir = published("wasi-0.2.6-http");
    let target = "wasi:random/random@0.2.6.get-random-bytes";
    let encoded = ok(&["wit", "encode", "--wit", path(&dir), target, "1024"]);
    assert_eq!(encoded.trim(), "8008");
    assert_eq!(decode_results(&dir, target, "03 00 ff 7f"), "[0, 255, 127]");
}

#[test]
fn wasi_0_3_0_http_loads_with_async_functions_streams_and_futures() {
    let dir = published("wasi-0.3.0-http");
    let out = ok(&["wit", "inspect", path(&dir)]);
    assert!(out.contains("package wasi:http@0.3.0"), "{out}");
    assert!(out.contains("interface wasi:http/handler@0.3.0"), "{out}");
    assert!(
        out.contains("handle: async func(request: request) -> result<response, error-code>"),
        "{out}"
    );
    assert!(out.contains("stream<u8>"), "{out}");
    assert!(out.contains("future<result<"), "{out}");
    let json = ok(&["wit", "inspect", path(&dir), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let packages = report["packages"].as_array().unwrap();
    assert!(packages
        .iter()
        .any(|p| p["name"] == "wasi:http@0.3.0" && p["main"] == true));

    let target = "wasi:random/random@0.3.0.get-random-bytes";
    assert_eq!(
        ok(&["wit", "encode", "--wit", path(&dir), target, "16"]).trim(),
        "10"
    );
    assert_eq!(decode_results(&dir, target, "0201ff"), "[1, 255]");
}
