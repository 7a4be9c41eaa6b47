//! wasi:http components served on the HTTP listener: routed by host and path prefix, status
//! and headers preserved, bodies streamed both ways (1 MiB), beside the JSON gateway; the
//! same through a sidecar whose listener forwards to a component on another node over wRPC
//! (NATS and QUIC); bad routes are refused at start.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;

use std::time::Duration;
use witmesh_tests::components;

use witmesh_tests::harness::{
    http, metric, path, wait_until, witmesh_bin, HttpAnswer, NatsServer, Sidecar,
};

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
    s.wait_for_log("serving HTTP for any host/app");

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

/// 1 MiB that does not repeat in short runs.
fn mebibyte() -> Vec<u8> {
    (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Status, headers and a 1 MiB body in both directions through the listener at `addr`.
fn assert_served(addr: SocketAddr) {
    let a = http(addr, "GET", "/app/x?q=1", &[("x-status", "418")], b"");
    assert_eq!(a.status, 418, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-method"), Some("GET"));
    assert_eq!(a.header("x-path"), Some("/app/x?q=1"));
    assert_eq!(a.body, b"hello from GET /app/x?q=1\n");
    let data = mebibyte();
    let a = http(addr, "PUT", "/echo", &[], &data);
    assert_eq!(a.status, 200);
    let greeting = b"hello from PUT /echo\n";
    assert_eq!(a.body.len(), greeting.len() + data.len());
    assert_eq!(&a.body[..greeting.len()], greeting);
    assert!(
        a.body[greeting.len()..] == data[..],
        "the body came back changed"
    );
}

/// Waits until the forwarding sidecar at `addr` has found the node serving the component.
fn wait_for_route(addr: SocketAddr) {
    wait_until(
        "the forwarding sidecar to find the wasi:http node",
        Duration::from_secs(15),
        || http(addr, "GET", "/ready", &[], b"").status == 200,
    );
}

#[test]
fn a_wasi_http_component_on_another_node_serves_requests_over_nats_and_quic() {
    let nats = NatsServer::start();
    let mut b = Sidecar::node(
        &nats,
        "b",
        &[components::http_hello()],
        &["--admin", "127.0.0.1:0"],
        &[],
    );
    b.wait_for_log("serving wrpc:http/incoming-handler@0.1.0.handle for HTTP listeners elsewhere");
    let b_admin = b.ready.admin.unwrap();
    let forwarding = ["--http", "127.0.0.1:0", "--http-route", "/=@mesh"];

    // Over NATS: this sidecar trusts no QUIC certificate, so discovery gives it B's prefix.
    // Its deadline for a forwarded request's response head is 2 s.
    let via_nats = Sidecar::node(
        &nats,
        "a-nats",
        &[],
        &forwarding,
        &[("WITMESH_MESH__DEFAULT_TIMEOUT", "2s")],
    );
    via_nats.wait_for_log("forwarding HTTP for any host/ to wrpc:http/incoming-handler@0.1.0");
    let addr = http_addr(&via_nats);
    wait_for_route(addr);
    assert_served(addr);
    let over_nats = [
        "instance=\"wrpc:http/incoming-handler@0.1.0\"",
        "direction=\"inbound\"",
        "transport=\"nats\"",
        "outcome=\"ok\"",
    ];
    assert!(metric(b_admin, "witmesh_requests_total", &over_nats).unwrap_or(0.0) >= 3.0);

    // Over QUIC: trusting B's certificate, discovery gives it B's QUIC address.
    let cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let mut with_ca = forwarding.to_vec();
    with_ca.extend(["--ca", cert.to_str().unwrap()]);
    let via_quic = Sidecar::node(&nats, "a-quic", &[], &with_ca, &[]);
    let addr = http_addr(&via_quic);
    wait_for_route(addr);
    assert_served(addr);
    let over_quic = [
        "instance=\"wrpc:http/incoming-handler@0.1.0\"",
        "transport=\"quic\"",
        "outcome=\"ok\"",
    ];
    assert!(metric(b_admin, "witmesh_requests_total", &over_quic).unwrap_or(0.0) >= 3.0);

    // Many at once, each with its own body, over both.
    let answers: Vec<(usize, HttpAnswer)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let addr = if i % 2 == 0 {
                    http_addr(&via_nats)
                } else {
                    http_addr(&via_quic)
                };
                s.spawn(move || {
                    let body = format!("request {i}").repeat(1000);
                    (i, http(addr, "POST", "/many", &[], body.as_bytes()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, a) in answers {
        assert_eq!(a.status, 200);
        let want = format!(
            "hello from POST /many\n{}",
            format!("request {i}").repeat(1000)
        );
        assert_eq!(String::from_utf8_lossy(&a.body), want);
    }

    // A's deadline for the response head travels with the call over NATS: B stops the
    // component at A's budget, not at its own 30 s call timeout.
    let a = http(
        http_addr(&via_nats),
        "GET",
        "/slow",
        &[("x-sleep-ms", "20000")],
        b"",
    );
    assert_eq!(a.status, 504, "{}", String::from_utf8_lossy(&a.body));
    let started = std::time::Instant::now();
    b.wait_for_log("wasi:http request from another node failed: ErrorCode::HttpResponseTimeout");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "B worked on past A's 2 s budget"
    );

    // With B gone, a request fails at once with a problem naming what is missing.
    b.kill();
    let a = http(http_addr(&via_nats), "GET", "/after", &[], b"");
    assert!(matches!(a.status, 502 | 503), "status {}", a.status);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));
    let detail = a.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("wrpc:http/incoming-handler") || detail.contains("node b"),
        "{detail}"
    );
}

/// A WASI 0.3 `wasi:http/handler@0.3.0` service echoes 1 MiB back through the gateway of
/// its own node and through a gateway on another node (over NATS); its error value is a 502.
#[test]
fn a_wasi_0_3_http_service_serves_requests_locally_and_from_another_node() {
    let nats = NatsServer::start();
    let b = Sidecar::node(
        &nats,
        "b",
        &[components::http03()],
        &[
            "--http",
            "127.0.0.1:0",
            "--http-route",
            "/=witmesh_test_http03",
        ],
        &[],
    );
    b.wait_for_log("serving wrpc:http/incoming-handler@0.1.0.handle for HTTP listeners elsewhere");
    let a = Sidecar::node(
        &nats,
        "a",
        &[],
        &["--http", "127.0.0.1:0", "--http-route", "/=@mesh"],
        &[],
    );
    let forwarded = http_addr(&a);
    wait_for_route(forwarded);
    let data = mebibyte();
    for (via, addr) in [("its own node", http_addr(&b)), ("another node", forwarded)] {
        let answer = http(addr, "PUT", "/echo", &[], &data);
        assert_eq!(
            answer.status,
            200,
            "{via}: {}\n{}",
            String::from_utf8_lossy(&answer.body),
            b.logs()
        );
        assert_eq!(answer.header("x-echo-method"), Some("Method::Put"), "{via}");
        assert_eq!(answer.body.len(), data.len(), "{via}");
        assert!(answer.body == data, "{via}: the body came back changed");
        assert!(answer.complete, "{via}");
        let empty = http(addr, "GET", "/nothing", &[], b"");
        assert_eq!(empty.status, 200, "{via}");
        assert!(empty.body.is_empty(), "{via}");
        // The component's error value is a failed request, never a hang or a 200.
        let failed = http(addr, "GET", "/fail", &[], b"");
        assert_eq!(
            failed.status,
            502,
            "{via}: {}",
            String::from_utf8_lossy(&failed.body)
        );
        assert_eq!(
            failed.header("content-type"),
            Some("application/problem+json")
        );
    }
    b.wait_for_log("asked to fail");
    assert!(!b.logs().contains("panicked"));
}

#[test]
fn each_of_several_wasi_http_components_is_reached_under_its_own_prefix() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hello = path(components::http_hello());
    let cfg = dir.path().join("b.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[components]]\nname = \"one\"\npath = \"{hello}\"\n[components.wasi.env]\nAPP = \"one\"\n\n[[components]]\nname = \"two\"\npath = \"{hello}\"\n[components.wasi.env]\nAPP = \"two\"\n"
        ),
    )
    .unwrap();
    let b = Sidecar::node(&nats, "b", &[], &["--config", cfg.to_str().unwrap()], &[]);
    b.wait_for_log("under the NATS prefix `b.two`");
    b.wait_for_log("over NATS each is served under its own prefix only");
    for app in ["one", "two"] {
        let route = format!("wrpc:http/incoming-handler@0.1.0=nats:b.{app}");
        let a = Sidecar::node(
            &nats,
            &format!("a-{app}"),
            &[],
            &[
                "--http",
                "127.0.0.1:0",
                "--http-route",
                "/=@mesh",
                "--route",
                &route,
            ],
            &[],
        );
        let answer = http(http_addr(&a), "POST", "/which", &[], b"body");
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.header("x-app"), Some(app));
        assert_eq!(answer.body, b"hello from POST /which\nbody");
    }
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
    assert!(err.contains("exports no wasi:http handler"), "{err}");
    // A route without the HTTP listener, or to a component that is not configured: 64.
    for args in [
        vec!["--http-route", "/=witmesh_test_faults"],
        vec!["--http", "127.0.0.1:0", "--http-route", "/=nothing"],
        vec!["--http", "127.0.0.1:0", "--http-route", "/=@mesh:nolink"],
        vec!["--http", "127.0.0.1:0", "--http-route", "/=@meshy"],
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
        assert!(
            err.contains("http.routes") || err.contains("--http-route"),
            "{err}"
        );
    }
}
