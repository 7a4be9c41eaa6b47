//! The HTTP/JSON gateway of a live sidecar: every WIT type through JSON, each error status,
//! bounds on the body, malformed JSON, concurrent requests, the raw-bytes path, trace context,
//! and calls forwarded to another sidecar whose WIT the gateway learns by reflection.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use witmesh_proto::text::{json, wave};
use witmesh_proto::WitSet;
use witmesh_tests::harness::{assert_valid_openapi, http, path, NatsServer, Sidecar};
use witmesh_tests::{components, EVERY_TYPE_VALUES};

const ECHO: &str = "witmesh:every-type/echo@0.1.0";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";
const JSON: (&str, &str) = ("content-type", "application/json");

/// A sidecar serving every-type and faults with the gateway on a free port.
fn gateway(nats: &NatsServer, env: &[(&str, &str)]) -> (Sidecar, SocketAddr) {
    let s = Sidecar::start_with_env(
        &[
            "--component",
            path(components::every_type()),
            "--component",
            path(components::faults()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            "g",
            "--node-id",
            "g",
            "--quic",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        env,
    );
    let addr = s.ready.http.expect("no http= in the ready line");
    (s, addr)
}

fn post(addr: SocketAddr, target: &str, body: &str) -> witmesh_tests::harness::HttpAnswer {
    http(
        addr,
        "POST",
        &format!("/v1/call/{target}"),
        &[JSON],
        body.as_bytes(),
    )
}

fn problem(a: &witmesh_tests::harness::HttpAnswer) -> serde_json::Value {
    assert_eq!(
        a.header("content-type"),
        Some("application/problem+json"),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let p = a.json();
    assert_eq!(p["status"], a.status);
    p
}

#[test]
fn every_wit_type_goes_through_json() {
    let nats = NatsServer::start();
    let (_s, addr) = gateway(&nats, &[]);
    let set = WitSet::load(witmesh_tests::every_type_wit_dir()).unwrap();
    for (func, text) in EVERY_TYPE_VALUES {
        let f = set.func(ECHO, func).unwrap();
        let value = wave::from_wave(&f.params[0], text).unwrap();
        let as_json = json::to_json(&f.params[0], &value);
        // Named parameters...
        let named = serde_json::json!({ "v": as_json }).to_string();
        let a = post(addr, &format!("{ECHO}/{func}"), &named);
        assert_eq!(
            a.status,
            200,
            "{func}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.json(), serde_json::json!({ "result": as_json }), "{func}");
        // ...or positional.
        let positional = serde_json::json!([as_json]).to_string();
        let a = post(addr, &format!("{ECHO}/{func}"), &positional);
        assert_eq!(a.status, 200, "{func}");
        assert_eq!(a.json()["result"], as_json, "{func}");
    }
    let a = post(
        addr,
        &format!("{ECHO}/echo-many"),
        r#"{"a": 1, "b": "s", "c": "AQI=", "d": null}"#,
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        serde_json::json!({"result": [1, "s", "AQI=", null]})
    );
    let a = post(addr, &format!("{ECHO}/echo-unit"), "");
    assert_eq!((a.status, a.json()), (200, serde_json::json!({})));
    // Percent-encoded paths are the same call.
    let a = post(addr, "witmesh%3Aevery-type%2Fecho%400.1.0/echo-u8", "[7]");
    assert_eq!(
        (a.status, a.json()["result"].clone()),
        (200, serde_json::json!(7))
    );
}

#[test]
fn each_failure_has_its_status_and_a_problem_document() {
    let nats = NatsServer::start();
    let (_s, addr) = gateway(
        &nats,
        &[
            ("WITMESH_HTTP__MAX_BODY_BYTES", "1KiB"),
            ("WITMESH_MESH__DEFAULT_TIMEOUT", "300ms"),
        ],
    );
    // 400: a value that does not match the WIT, with its path.
    let a = post(
        addr,
        &format!("{ECHO}/echo-record"),
        r#"{"v": {"x": 1, "y": "no"}}"#,
    );
    assert_eq!(a.status, 400);
    let p = problem(&a);
    assert_eq!(p["kind"], "bad-value");
    assert!(p["detail"].as_str().unwrap().contains("v.y"), "{p}");
    let a = post(addr, &format!("{ECHO}/echo-u8"), "[256]");
    assert_eq!(a.status, 400);
    let a = post(addr, &format!("{ECHO}/echo-u8"), r#"{"nope": 1}"#);
    assert_eq!(a.status, 400);
    assert!(problem(&a)["detail"].as_str().unwrap().contains("nope"));
    // 400: malformed JSON.
    let a = post(addr, &format!("{ECHO}/echo-u8"), "[1,");
    assert_eq!(a.status, 400);
    assert_eq!(problem(&a)["kind"], "bad-json");
    // 404: an unknown function, an unknown instance, no function in the path.
    let a = post(addr, &format!("{ECHO}/echo-nothing"), "[]");
    assert_eq!(a.status, 404);
    assert!(
        problem(&a)["detail"].as_str().unwrap().contains("echo-u8"),
        "lists the functions"
    );
    let a = post(addr, "nope:nope/nope/f", "[]");
    assert_eq!(a.status, 404);
    let a = post(addr, "justone", "[]");
    assert_eq!(a.status, 404);
    let a = http(addr, "GET", "/elsewhere", &[], b"");
    assert_eq!(a.status, 404);
    problem(&a);
    let a = http(addr, "GET", &format!("/v1/call/{ECHO}/echo-u8"), &[], b"");
    assert_eq!(a.status, 405);
    // 413: a body over the limit, by its length and as it streams.
    let big = format!("[\"{}\"]", "x".repeat(2000));
    let a = post(addr, &format!("{ECHO}/echo-string"), &big);
    assert_eq!(a.status, 413);
    assert_eq!(problem(&a)["kind"], "too-large");
    // 502: the component trapped.
    let a = post(addr, &format!("{FAULTS}/trap"), "[]");
    assert_eq!(a.status, 502);
    let p = problem(&a);
    assert!(p["detail"].as_str().unwrap().contains("trap"), "{p}");
    // 504: past the deadline.
    let a = post(addr, &format!("{FAULTS}/sleep"), "[5000]");
    assert_eq!(a.status, 504);
    assert_eq!(problem(&a)["kind"], "deadline");
    // The sidecar still serves after all of that.
    let a = post(addr, &format!("{FAULTS}/ok"), "[1]");
    assert_eq!(
        (a.status, a.json()["result"].clone()),
        (200, serde_json::json!(2))
    );
}

#[test]
fn concurrent_requests_raw_bytes_and_trace_context() {
    let nats = NatsServer::start();
    let (_s, addr) = gateway(&nats, &[]);
    let handles: Vec<_> = (0..64u32)
        .map(|i| {
            std::thread::spawn(move || {
                let a = post(addr, &format!("{FAULTS}/ok"), &format!("[{i}]"));
                (a.status, a.json()["result"].as_u64())
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), (200, Some(i as u64 + 1)));
    }
    // list<u8> in and out as raw bytes.
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let a = http(
        addr,
        "POST",
        &format!("/v1/call/{ECHO}/echo-bytes"),
        &[
            ("content-type", "application/octet-stream"),
            ("accept", "application/octet-stream"),
        ],
        &data,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert_eq!(a.body, data);
    // Raw in, JSON out (base64).
    let a = http(
        addr,
        "POST",
        &format!("/v1/call/{ECHO}/echo-bytes"),
        &[("content-type", "application/octet-stream")],
        b"\x01\x02",
    );
    assert_eq!(a.json()["result"], "AQI=");
    // A raw body for a function that does not take list<u8> alone.
    let a = http(
        addr,
        "POST",
        &format!("/v1/call/{ECHO}/echo-string"),
        &[("content-type", "application/octet-stream")],
        b"x",
    );
    assert_eq!(a.status, 415);
    // The caller's trace context comes back.
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let a = http(
        addr,
        "POST",
        &format!("/v1/call/{FAULTS}/ok"),
        &[JSON, ("traceparent", tp)],
        b"[1]",
    );
    assert_eq!(a.header("traceparent"), Some(tp));
}

#[test]
fn calls_go_through_the_mesh_with_the_wit_learned_from_the_provider() {
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
    let (g, addr) = gateway(&nats, &[]);
    g.wait_for_log("discovered node b");
    let a = post(
        addr,
        "local:greeter-demo/greet/greet",
        r#"{"name": "mesh"}"#,
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["result"], "Hello, mesh!");
    let a = post(addr, "local:greeter-demo/greet/greet", r#"{"name": 5}"#);
    assert_eq!(
        a.status, 400,
        "checked against B's WIT before anything is sent"
    );
    drop(b);
}

#[test]
fn the_openapi_document_covers_every_function_and_validates() {
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
    let (g, addr) = gateway(&nats, &[]);
    g.wait_for_log("discovered node b");
    let a = http(addr, "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(a.status, 200);
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // Local functions and the remote greeter, learned from b's WIT.
    let greet = &paths["/v1/call/local:greeter-demo/greet/greet"]["post"];
    assert_eq!(greet["summary"], "greet: func(name: string) -> string");
    assert_eq!(
        greet["requestBody"]["content"]["application/json"]["schema"]["properties"]["name"]["type"],
        "string"
    );
    for (func, _) in EVERY_TYPE_VALUES {
        assert!(
            paths.contains_key(&format!("/v1/call/{ECHO}/{func}")),
            "{func}"
        );
    }
    assert!(paths.contains_key(&format!("/v1/call/{FAULTS}/trap")));
    // WIT doc comments become descriptions.
    let ok = &paths[&format!("/v1/call/{FAULTS}/ok")]["post"];
    assert!(
        ok["description"]
            .as_str()
            .unwrap()
            .contains("WIT: `ok: func(n: u32) -> u32`"),
        "{ok}"
    );
    // A standard validator accepts it.
    assert_valid_openapi(g.dir.path(), &a.body);
    drop(b);
}

#[test]
fn schemathesis_finds_no_undocumented_answers() {
    let nats = NatsServer::start();
    let s = Sidecar::start_with_env(
        &[
            "--component",
            path(components::every_type()),
            "--component",
            path(components::greeter()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            "g",
            "--quic",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        &[("WITMESH_MESH__DEFAULT_TIMEOUT", "2s")],
    );
    let addr = s.ready.http.unwrap().to_string();
    // Functions passing resource handles are refused (501) and left out of the document.
    let a = post(
        addr.parse().unwrap(),
        &format!("{ECHO}/echo-own"),
        r#"{"v": "AA=="}"#,
    );
    assert_eq!(a.status, 501);
    let out = std::process::Command::new("schemathesis")
        .current_dir(s.dir.path())
        .args([
            "run",
            &format!("http://{addr}/v1/openapi.json"),
            "--max-examples",
            "20",
            "--seed",
            "1",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .output()
        .expect("schemathesis (pip install schemathesis)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("Tested: 29"), "{report}");
    assert!(!s.logs().contains("panicked"));
}
