//! witmesh's own interfaces: `witmesh:mesh` (health, discovery) served over wRPC to a native
//! program, and the admin listener read by `witmesh peers` and `witmesh routes`. Separate
//! witmesh processes and a real nats-server.

#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use witmesh::admin::client;
use witmesh_tests::components;
use witmesh_tests::harness::run_witmesh as witmesh;
use witmesh_tests::harness::{free_port, path, quic_client, NatsServer, Sidecar};
use witmesh_tests::mesh_client::witmesh::mesh::discovery::{self, Transport};
use witmesh_tests::mesh_client::witmesh::mesh::health;

const GREET: &str = "local:greeter-demo/greet";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";
const RELAY: &str = "witmesh:relay/relay@0.1.0";

/// Sidecar `b` serving greeter and faults; sidecar `a` serving the relay, which imports both
/// and finds `b` by discovery.
fn two_sidecars(nats: &NatsServer) -> (Sidecar, Sidecar) {
    let b = Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "b",
        "--quic",
        "127.0.0.1:0",
        "--node-id",
        "b",
    ]);
    let a = Sidecar::start(&[
        "--component",
        path(components::relay()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "a",
        "--quic",
        "127.0.0.1:0",
        "--node-id",
        "a",
    ]);
    a.wait_for_log("discovered node b");
    (a, b)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_program_asks_a_sidecar_what_the_mesh_serves_over_nats_and_quic() {
    let nats = NatsServer::start();
    let (a, b) = two_sidecars(&nats);

    // Over NATS, at A's prefix, with bindings generated from proto-wit/wit by wit-bindgen-wrpc.
    let conn = async_nats::connect(&nats.url).await.unwrap();
    let wrpc = wrpc_transport_nats::Client::new(conn, "a", None)
        .await
        .unwrap();
    let endpoints = discovery::lookup(&wrpc, None, GREET).await.unwrap();
    let at_b: Vec<_> = endpoints.iter().filter(|e| e.node == "b").collect();
    assert_eq!(
        at_b.len(),
        2,
        "one NATS and one QUIC endpoint at b: {endpoints:?}"
    );
    assert!(at_b
        .iter()
        .any(|e| e.transport == Transport::Nats && e.address == "b" && e.instance == GREET));
    let b_quic = b.ready.quic.unwrap().to_string();
    assert!(at_b.iter().any(|e| e.transport == Transport::Quic
        && e.address == b_quic
        && e.server_name.as_deref() == Some("localhost")));
    assert!(
        endpoints.iter().all(|e| e.node != "a"),
        "a does not serve greet: {endpoints:?}"
    );
    // A versioned lookup matches by semver; another major does not.
    let faults = discovery::lookup(&wrpc, None, "witmesh:faults/faults@0.1.0")
        .await
        .unwrap();
    assert!(faults.iter().any(|e| e.node == "b" && e.instance == FAULTS));
    assert!(
        discovery::lookup(&wrpc, None, "witmesh:faults/faults@1.0.0")
            .await
            .unwrap()
            .is_empty()
    );

    let peers = discovery::peers(&wrpc, None).await.unwrap();
    assert_eq!(peers[0].node, "a", "this node first: {peers:?}");
    assert_eq!(peers[0].expires_in_ms, 0);
    assert_eq!(peers[0].instances, [RELAY]);
    let pb = peers.iter().find(|p| p.node == "b").unwrap();
    assert_eq!(pb.nats_prefix.as_deref(), Some("b"));
    assert!(pb.expires_in_ms > 0);
    assert!(pb.instances.contains(&GREET.to_owned()));

    let all = discovery::instances(&wrpc, None).await.unwrap();
    let mut expected = vec![GREET.to_owned(), FAULTS.to_owned(), RELAY.to_owned()];
    expected.sort();
    assert_eq!(all, expected);
    assert!(
        !all.iter().any(|i| i.starts_with("witmesh:mesh")),
        "every node serves witmesh:mesh, so none announces it: {all:?}"
    );

    // Over QUIC: health.
    let q = quic_client(&a).await;
    let status = health::check(&q, ()).await.unwrap();
    assert_eq!(status.node, "a");
    assert!(status.ready);
    assert_eq!(status.components, ["witmesh_test_relay"]);
    assert_eq!(status.instances, [RELAY]);
    assert!(status.in_flight >= 1, "the check itself is in flight");
    let b_status = health::check(
        &wrpc_transport_nats::Client::new(async_nats::connect(&nats.url).await.unwrap(), "b", None)
            .await
            .unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(b_status.node, "b");
    assert_eq!(
        b_status.components,
        ["witmesh_test_greeter", "witmesh_test_faults"]
    );
}

fn admin(s: &Sidecar) -> String {
    s.ready
        .admin
        .expect("no admin= in the ready line")
        .to_string()
}

/// The status line of a raw HTTP/1.1 request to `addr`.
fn raw_status(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn peers_and_routes_read_a_running_sidecar_from_its_admin_listener() {
    let nats = NatsServer::start();
    let (a, _b) = two_sidecars(&nats);
    let addr = admin(&a);
    assert!(a.ready.line.contains(&format!("admin={addr}")));

    let t = Duration::from_secs(5);
    assert_eq!(
        &client::get(&addr, "/healthz", t).await.unwrap()[..],
        b"ok\n"
    );
    let ready: serde_json::Value =
        serde_json::from_slice(&client::get(&addr, "/readyz", t).await.unwrap()).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["node"], "a");
    let missing = client::get(&addr, "/v1/nothing", t).await.unwrap_err();
    assert!(
        matches!(
            missing,
            client::AdminClientError::Status { status: 404, .. }
        ),
        "{missing}"
    );
    assert!(
        raw_status(
            &addr,
            "POST /v1/peers HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"
        )
        .contains("405"),
        "POST is refused"
    );
    assert!(raw_status(&addr, "garbage\r\n\r\n").contains("400"));

    // `witmesh peers`: this node first, then b with its prefix and instances.
    let (code, out, err) = witmesh(&["peers", "--admin", &addr]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NODE"), "{out}");
    assert!(
        lines[1].starts_with("a ") && lines[1].contains("self"),
        "{out}"
    );
    let b_line = lines.iter().find(|l| l.starts_with("b ")).expect(&out);
    assert!(b_line.contains(GREET) && b_line.contains(FAULTS), "{out}");

    let (code, out, err) = witmesh(&["peers", "--admin", &addr, "--json"]);
    assert_eq!(code, 0, "{err}");
    let peers: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(peers[0]["node"], "a");
    assert_eq!(peers[1]["node"], "b");
    assert_eq!(peers[1]["nats_prefix"], "b");

    // `witmesh routes`: each import of the relay and its provider, found by discovery.
    let (code, out, err) = witmesh(&["routes", "--admin", &addr]);
    assert_eq!(code, 0, "{err}");
    let greet = out
        .lines()
        .find(|l| l.starts_with(GREET) && l.contains(" b "))
        .expect(&out);
    assert!(
        greet.contains("nats:b") && greet.contains("discovery"),
        "{out}"
    );
    assert!(greet.contains("closed"), "{out}");
    let (code, out, _) = witmesh(&["routes", "--admin", &addr, "--json"]);
    assert_eq!(code, 0);
    let routes: serde_json::Value = serde_json::from_str(&out).unwrap();
    let faults = routes
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == FAULTS)
        .expect(&out);
    assert!(faults["providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["node"] == "b" && p["instance"] == FAULTS));
}

#[test]
fn peers_names_an_admin_listener_that_does_not_answer() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port())).to_string();
    let (code, out, err) = witmesh(&["peers", "--admin", &addr]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains(&format!("cannot reach the admin listener at {addr}")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_lists_what_the_mesh_serves_with_providers_and_functions() {
    let nats = NatsServer::start();
    let (a, _b) = two_sidecars(&nats);
    let (code, out, err) = witmesh(&["ls", "--admin", &admin(&a)]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let greet = lines
        .iter()
        .position(|l| l.starts_with(&format!("{GREET}  (b)")))
        .expect(&out);
    assert_eq!(
        lines[greet + 1],
        "    greet: func(name: string) -> string",
        "{out}"
    );
    assert!(out.contains(&format!("{RELAY}  (a)")), "{out}");
    assert!(
        out.contains("    greet-via: func(link: string, name: string) -> string"),
        "{out}"
    );
    let (code, out, _) = witmesh(&["ls", "--admin", &admin(&a), "--json"]);
    assert_eq!(code, 0);
    let entries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let faults = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["instance"] == FAULTS)
        .expect(&out);
    assert_eq!(faults["providers"], serde_json::json!(["b"]));
    assert!(faults["functions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "trap: func() -> u32"));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_hides_secrets_and_readyz_turns_503_while_draining() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("witmesh.toml");
    std::fs::write(
        &cfg,
        format!(
            "[node]\nid = \"drainer\"\ndrain_timeout = \"20s\"\n\n[[components]]\nname = \"faults\"\npath = \"{}\"\n\n[components.wasi.env]\nTOKEN = \"hunter2\"\n",
            path(components::faults())
        ),
    )
    .unwrap();
    let mut s = Sidecar::start_with_env(
        &["--config", cfg.to_str().unwrap(), "--quic", "127.0.0.1:0"],
        &[("RUST_LOG", "info,witmesh::serve=debug")],
    );
    let addr = admin(&s);
    let t = Duration::from_secs(5);
    let body = client::get(&addr, "/v1/config", t).await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("hunter2"), "{text}");
    let config: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(config["node"]["id"], "drainer");
    assert_eq!(config["components"][0]["wasi"]["env"]["TOKEN"], "***");

    // A slow call keeps the drain going; meanwhile the node says it is not ready.
    let q = quic_client(&s).await;
    let slow = tokio::spawn(async move {
        witmesh_tests::faults_client::witmesh::faults::faults::sleep(&q, (), 2000).await
    });
    s.wait_for_log("call started");
    let status = Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let readyz = |addr: &str| {
        let a = witmesh_tests::harness::http(addr.parse().unwrap(), "GET", "/readyz", &[], b"");
        (a.status, a.json())
    };
    witmesh_tests::harness::wait_until("readyz says 503", Duration::from_secs(5), || {
        readyz(&addr).0 == 503
    });
    assert_eq!(readyz(&addr).1["ready"], false);
    assert_eq!(
        slow.await.unwrap().unwrap(),
        2000,
        "the in-flight call finished"
    );
    assert!(s.terminate().success());
}
