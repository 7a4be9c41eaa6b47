//! wasi:http components served on the HTTP listener: routed by host and path prefix, status
//! and headers preserved, bodies streamed both ways (1 MiB), beside the JSON gateway; bad
//! routes are refused at start.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;

use witmesh_tests::components;
use witmesh_tests::harness::{http, witmesh_bin, Sidecar};

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn http_addr(s: &Sidecar) -> SocketAddr {
    s.ready.http.expect("no http= in the ready line")
}

#[test]
fn a_wasi_http_component_serves_requests_with_streamed_bodies() {
    let hello = path(components::http_hello());
    let s = Sidecar::start(&[
        "--component",
        hello,
        "--component",
        path(components::faults()),
        "--quic",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--http-route",
        "/app=witmesh_test_http_hello",
        "--http-route",
        "hello.test/=witmesh_test_http_hello",
    ]);
    let addr = http_addr(&s);
    assert!(s.logs().contains("serving HTTP for any host/app"));

    // Status and headers come from the component.
    let a = http(addr, "GET", "/app/x?q=1", &[("x-status", "418")], b"");
    assert_eq!(a.status, 418);
    assert_eq!(a.header("x-method"), Some("GET"));
    assert_eq!(a.header("x-path"), Some("/app/x?q=1"));
    assert_eq!(a.body, b"hello from GET /app/x?q=1\n");

    // 1 MiB up and back, streamed.
    let data: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let a = http(addr, "POST", "/app/echo", &[], &data);
    assert_eq!(a.status, 200);
    let greeting = b"hello from POST /app/echo\n";
    assert_eq!(a.body.len(), greeting.len() + data.len());
    assert_eq!(&a.body[..greeting.len()], greeting);
    assert!(
        a.body[greeting.len()..] == data[..],
        "the body came back changed"
    );

    // By host: any path on hello.test; other hosts only under /app.
    let a = http(addr, "GET", "/", &[("host", "hello.test:8080")], b"");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = http(addr, "GET", "/elsewhere", &[], b"");
    assert_eq!(a.status, 404);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));

    // The JSON gateway keeps its own paths on the same listener.
    let a = http(
        addr,
        "POST",
        "/v1/call/witmesh:faults/faults@0.1.0/ok",
        &[("content-type", "application/json")],
        b"[1]",
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["result"], 2);
}

#[test]
fn routes_to_components_that_cannot_serve_http_are_refused() {
    let out = Command::new(witmesh_bin())
        .args([
            "up",
            "--component",
            path(components::faults()),
            "--quic",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--http-route",
            "/=witmesh_test_faults",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("does not export wasi:http/incoming-handler"),
        "{err}"
    );
    // A route without the HTTP listener, or to a component that is not configured: 64.
    for args in [
        vec!["--http-route", "/=witmesh_test_faults"],
        vec!["--http", "127.0.0.1:0", "--http-route", "/=nothing"],
    ] {
        let mut full = vec![
            "up",
            "--component",
            path(components::faults()),
            "--quic",
            "127.0.0.1:0",
        ];
        full.extend(args);
        let out = Command::new(witmesh_bin()).args(&full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{err}");
        assert!(err.contains("http.routes"), "{err}");
    }
}
