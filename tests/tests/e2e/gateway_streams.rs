//! `stream<u8>` through the HTTP gateway: a raw request body streams into a function whose one
//! parameter is a byte stream, and a function whose one result is a byte stream answers with a
//! raw streamed body. The provider is a native wRPC program found by discovery, which tells the
//! sidecar its WIT through `witmesh:mesh/reflect`.

#![allow(clippy::unwrap_used, missing_docs)]

use witmesh_tests::harness::{assert_valid_openapi, http, witmesh_bin, NatsServer, Sidecar};
use witmesh_tests::native::{fnv1a, pattern, serve_bytes, BYTES_INSTANCE, FNV_START};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_streams_cross_the_gateway_as_raw_bodies() {
    let nats = NatsServer::start();
    let (_wrpc, _announce) = serve_bytes(&nats.url, "bytes").await.unwrap();
    let g = Sidecar::node(&nats, "g", &[], &["--http", "127.0.0.1:0"], &[]);
    g.wait_for_log("discovered node bytes");
    let addr = g.ready.http.unwrap();
    let octets = [("content-type", "application/octet-stream")];

    // 6 MiB up, past `http.max_body_bytes` (4 MiB: a limit for bodies read whole): the
    // provider hashes what arrived, as it arrived.
    let data: Vec<u8> = (0..6u64 << 20).map(|i| pattern(i ^ 0x5a5a)).collect();
    let a = tokio::task::spawn_blocking({
        let data = data.clone();
        move || {
            http(
                addr,
                "POST",
                &format!("/v1/call/{BYTES_INSTANCE}/upload"),
                &octets,
                &data,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(
        a.status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&a.body),
        g.logs()
    );
    let got = &a.json()["result"];
    assert_eq!(got["len"], data.len() as u64);
    assert_eq!(got["hash"], fnv1a(FNV_START, &data));

    // An empty upload is a stream that ends at once.
    let a = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            &format!("/v1/call/{BYTES_INSTANCE}/upload"),
            &octets,
            b"",
        )
    })
    .await
    .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["result"]["len"], 0);

    // 3 MiB down, in chunks the provider chose, as a raw body.
    let len = 3u64 << 20;
    let a = tokio::task::spawn_blocking(move || {
        let args = format!(r#"{{"len": {len}, "chunk": 65536}}"#);
        http(
            addr,
            "POST",
            &format!("/v1/call/{BYTES_INSTANCE}/download"),
            &[],
            args.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert_eq!(a.body.len() as u64, len);
    assert!(
        a.body
            .iter()
            .enumerate()
            .all(|(i, b)| *b == pattern(i as u64)),
        "the download came back changed"
    );

    // A stream parameter takes a raw body, not JSON; a bad JSON argument names the value.
    let a = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            &format!("/v1/call/{BYTES_INSTANCE}/upload"),
            &[],
            b"[1]",
        )
    })
    .await
    .unwrap();
    assert_eq!(a.status, 415);
    assert!(a.json()["detail"].as_str().unwrap().contains("stream<u8>"));
    let a = tokio::task::spawn_blocking(move || {
        let args = br#"{"len": "x", "chunk": 1}"#;
        http(
            addr,
            "POST",
            &format!("/v1/call/{BYTES_INSTANCE}/download"),
            &[],
            args,
        )
    })
    .await
    .unwrap();
    assert_eq!(a.status, 400);
    assert!(a.json()["detail"].as_str().unwrap().contains("len"));

    // The OpenAPI document has both, with raw bodies, and still validates.
    let a = tokio::task::spawn_blocking(move || http(addr, "GET", "/v1/openapi.json", &[], b""))
        .await
        .unwrap();
    let doc = a.json();
    let paths = &doc["paths"];
    let octets = "application/octet-stream";
    let up = &paths[&format!("/v1/call/{BYTES_INSTANCE}/upload")]["post"];
    assert!(up["requestBody"]["content"][octets].is_object(), "{up}");
    assert!(up["responses"]["200"]["content"]["application/json"].is_object());
    let down = &paths[&format!("/v1/call/{BYTES_INSTANCE}/download")]["post"];
    assert!(down["requestBody"]["content"]["application/json"].is_object());
    assert!(
        down["responses"]["200"]["content"][octets].is_object(),
        "{down}"
    );
    assert_valid_openapi(g.dir.path(), &a.body);
}

/// Runs `witmesh call ARGS` against the provider under prefix `bytes` at `url`, feeding
/// `stdin`, and returns what it did.
fn witmesh_call(url: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(witmesh_bin())
        .args(["call", "--nats", url, "--prefix", "bytes"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A call that does not read its input closes the pipe early; that is its answer.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witmesh_call_streams_stdin_and_stdout() {
    let nats = NatsServer::start();
    let (_wrpc, _announce) = serve_bytes(&nats.url, "bytes").await.unwrap();
    let url = nats.url.clone();
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/wit/bytes");
    let (upload, download) = (
        format!("{BYTES_INSTANCE}.upload"),
        format!("{BYTES_INSTANCE}.download"),
    );

    // Stdin streams into the parameter; the types come from the provider's own reflection
    // (it serves `witmesh:mesh/reflect`, not the rest of `witmesh:mesh`).
    let data: Vec<u8> = (0..2u64 << 20).map(pattern).collect();
    let expected = fnv1a(FNV_START, &data);
    let out = tokio::task::spawn_blocking({
        let (url, upload) = (url.clone(), upload.clone());
        move || witmesh_call(&url, &[&upload], &data)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("len: {}", 2u64 << 20))
            && text.contains(&format!("hash: {expected}")),
        "{text}"
    );

    // A result stream goes to stdout as raw bytes; here the types come from a WIT file.
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || witmesh_call(&url, &["--wit", wit, &download, "100000", "4096"], b"")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 100_000);
    assert!(out
        .stdout
        .iter()
        .enumerate()
        .all(|(i, b)| *b == pattern(i as u64)));

    // Arguments for a stream parameter are refused with the reason (exit 65).
    let out = tokio::task::spawn_blocking(move || {
        witmesh_call(&url, &["--wit", wit, &upload, "[1, 2]"], b"")
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pipe the bytes to stdin"));
}
