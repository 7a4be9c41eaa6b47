//! A network partition between sidecars: provider B runs inside a network namespace of the
//! test's own, joined to the host by a veth pair with addresses chosen here; bringing the
//! link down cuts B off from NATS, and the relay sidecar A must stop routing to B within one
//! discovery TTL while calls keep succeeding via C, then take B back when the link returns.
//! Needs root (for `ip netns`), as CI on these machines has.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use witmesh_tests::components;
use witmesh_tests::harness::{quic_client, NatsServer, Sidecar, READY_TIMEOUT};
use witmesh_tests::relay_client::witmesh::relay::relay;

const FAULTS: &str = "witmesh:faults/faults@0.1.0";

/// Runs `ip ARGS`, panicking with its error output on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("cannot run ip (apt-get install iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace `name` joined to the host by veth `host_if` (host side `host_ip`) and its peer
/// (`ns_ip` inside); removed when dropped.
struct Netns {
    name: String,
    host_if: String,
}

impl Netns {
    fn new(name: &str, host_if: &str, host_ip: &str, ns_ip: &str) -> Self {
        for args in [["netns", "del", name], ["link", "del", host_if]] {
            let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
        }
        let ns_if = format!("{host_if}p");
        ip(&["netns", "add", name]);
        let ns = Netns {
            name: name.to_owned(),
            host_if: host_if.to_owned(),
        };
        ip(&[
            "link", "add", host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", name]);
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", host_if]);
        ip(&["link", "set", host_if, "up"]);
        ip(&[
            "-n",
            name,
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            &ns_if,
        ]);
        ip(&["-n", name, "link", "set", &ns_if, "up"]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        ns
    }

    fn link(&self, up: bool) {
        ip(&["link", "set", &self.host_if, if up { "up" } else { "down" }]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partitioned_provider_drops_out_within_one_ttl_and_returns() {
    // Addresses of the test's own link, inside 10.231.0.0/30.
    let (host_ip, ns_ip) = ("10.231.0.1", "10.231.0.2");
    let ns = Netns::new("witmesh-b", "wmb0", host_ip, ns_ip);
    // The hub, on the host's end of the link, so B inside the namespace reaches it too.
    let hub = NatsServer::start_on(host_ip);
    let url = hub.url.clone();

    let mesh = ("WITMESH_MESH__ANNOUNCE_INTERVAL", "200ms");
    let ttl = ("WITMESH_MESH__ANNOUNCE_TTL", "1s");
    let provider = |id: &str, netns: Option<&str>| {
        let mut args: Vec<String> = Vec::new();
        if let Some(n) = netns {
            let bin = witmesh_tests::harness::witmesh_bin();
            args.extend(["netns", "exec", n, bin.to_str().unwrap(), "up"].map(String::from));
        }
        args.extend(
            [
                "--component",
                components::faults().to_str().unwrap(),
                "--nats",
                &url,
                "--nats-prefix",
                id,
                "--node-id",
                id,
            ]
            .map(String::from),
        );
        args
    };
    // B inside the namespace: `witmesh up` run through `ip netns exec`.
    let b_args = provider("b", Some("witmesh-b"));
    let b = Sidecar::start_program(
        "ip",
        &b_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[
            mesh,
            ttl,
            ("WITMESH_QUIC__ENABLED", "false"),
            ("RUST_LOG", "info,witmesh::serve=debug"),
        ],
    );
    let c_args = provider("c", None);
    let c = Sidecar::start_with_env(
        &c_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[
            mesh,
            ttl,
            ("WITMESH_QUIC__ENABLED", "false"),
            ("RUST_LOG", "info,witmesh::serve=debug"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!("[mesh]\nidempotent = [\"{FAULTS}.ok\"]\nattempt_timeout = \"500ms\"\nannounce_interval = \"200ms\"\nannounce_ttl = \"1s\"\n"),
    )
    .unwrap();
    let a = Sidecar::start(&[
        "--component",
        components::relay().to_str().unwrap(),
        "--nats",
        &url,
        "--nats-prefix",
        "a",
        "--quic",
        "127.0.0.1:0",
        "--node-id",
        "a",
        "--config",
        cfg.to_str().unwrap(),
        "--route",
        "local:greeter-demo/greet=nats:nobody",
    ]);
    a.wait_for_log("discovered node b");
    a.wait_for_log("discovered node c");
    let client = Arc::new(quic_client(&a).await);
    let served = |s: &Sidecar| s.logs().matches("call started").count();

    let calls = |n: u32| {
        let client = client.clone();
        async move {
            for i in 0..n {
                assert_eq!(relay::ok(&*client, (), i).await.unwrap(), i + 1);
            }
        }
    };
    calls(100).await;
    assert!(
        served(&b) > 0 && served(&c) > 0,
        "b {} c {}",
        served(&b),
        served(&c)
    );

    // Partition: B's announcements stop; within one TTL (plus a heartbeat) A routes only to C.
    ns.link(false);
    let cut = Instant::now();
    a.wait_for_log("dropped node b");
    let noticed = cut.elapsed();
    assert!(
        noticed <= Duration::from_millis(1000 + 600),
        "noticed after {noticed:?}"
    );
    let before = served(&b);
    calls(100).await;
    assert_eq!(
        served(&b),
        before,
        "A still routed to B while it was cut off"
    );

    // Heal: B reconnects to NATS, announces again and takes calls.
    ns.link(true);
    a.wait_for_log("discovered node b again");
    let start = Instant::now();
    while served(&b) == before {
        assert!(start.elapsed() < READY_TIMEOUT, "B never took calls again");
        calls(10).await;
    }
    drop((a, b, c));
}
