//! Prometheus metrics of live sidecars: exact counts per label set after known calls, and
//! bounded labels under 10,000 distinct bogus function names from the wire.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use witmesh_tests::components;
use witmesh_tests::harness::{http, quic_client, wait_until, NatsServer, Sidecar};
use witmesh_tests::relay_client::witmesh::relay::relay;
use wrpc_transport::Invoke as _;

const RELAY: &str = "witmesh:relay/relay@0.1.0";
const GREET: &str = "local:greeter-demo/greet";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn scrape(s: &Sidecar) -> Vec<Sample> {
    let a = http(s.ready.admin.unwrap(), "GET", "/metrics", &[], b"");
    assert_eq!(a.status, 200);
    assert!(a
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(a.body).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels, value.parse().unwrap())
        })
        .collect()
}

/// The value of `name` whose labels include `want` (0 when there is none; two would be a bug).
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert!(
        found.len() <= 1,
        "{name} {want:?} matches {} series",
        found.len()
    );
    found.first().copied().unwrap_or(0.0)
}

fn mesh(nats: &NatsServer) -> (Sidecar, Sidecar) {
    let b = Sidecar::node(
        nats,
        "b",
        &[components::greeter(), components::faults()],
        &[],
        &[],
    );
    let a = Sidecar::node(nats, "a", &[components::relay()], &[], &[]);
    a.wait_for_log("discovered node b");
    (a, b)
}

#[tokio::test(flavor = "multi_thread")]
async fn counts_and_histograms_are_exact_per_label_set() {
    let nats = NatsServer::start();
    let (a, b) = mesh(&nats);
    let client = quic_client(&a).await;
    for i in 0..5 {
        relay::greet(&client, (), &format!("n{i}")).await.unwrap();
    }
    for _ in 0..2 {
        assert!(relay::trap(&client, ()).await.is_err());
    }
    // The last call is counted as it finishes, before or after its results reach us.
    let total = |s: &[Sample]| {
        value(
            s,
            "witmesh_requests_total",
            &[("instance", RELAY), ("outcome", "trap")],
        )
    };
    wait_until("A counts the traps", Duration::from_secs(10), || {
        total(&scrape(&a)) == 2.0
    });

    let at_a = scrape(&a);
    let inbound_ok = [
        ("instance", RELAY),
        ("function", "greet"),
        ("direction", "inbound"),
        ("transport", "quic"),
        ("outcome", "ok"),
    ];
    assert_eq!(value(&at_a, "witmesh_requests_total", &inbound_ok), 5.0);
    assert_eq!(
        value(&at_a, "witmesh_request_duration_seconds_count", &inbound_ok),
        5.0
    );
    assert_eq!(
        value(
            &at_a,
            "witmesh_request_duration_seconds_bucket",
            &[inbound_ok.as_slice(), &[("le", "+Inf")]].concat()
        ),
        5.0
    );
    assert!(value(&at_a, "witmesh_request_duration_seconds_sum", &inbound_ok) > 0.0);
    let outbound = |function: &str, outcome: &str| {
        value(
            &at_a,
            "witmesh_requests_total",
            &[
                ("function", function),
                ("direction", "outbound"),
                ("transport", "nats"),
                ("peer", "b"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(outbound("greet", "ok"), 5.0);
    assert_eq!(outbound("trap", "trap"), 2.0);
    assert_eq!(
        value(
            &at_a,
            "witmesh_requests_total",
            &[
                ("instance", RELAY),
                ("function", "trap"),
                ("direction", "inbound"),
                ("outcome", "trap")
            ]
        ),
        2.0
    );
    assert_eq!(value(&at_a, "witmesh_peers_known", &[]), 1.0);
    assert_eq!(
        value(
            &at_a,
            "witmesh_requests_in_flight",
            &[("instance", GREET), ("direction", "outbound")]
        ),
        0.0
    );

    let at_b = scrape(&b);
    let served = |function: &str, outcome: &str| {
        value(
            &at_b,
            "witmesh_requests_total",
            &[
                ("function", function),
                ("direction", "inbound"),
                ("transport", "nats"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(served("greet", "ok"), 5.0);
    // greet("n0".."n4"): 1 length byte + 2 bytes in, "Hello, nX!" (1 + 10 bytes) out, each.
    let greet_at_b = [
        ("instance", GREET),
        ("function", "greet"),
        ("direction", "inbound"),
    ];
    assert_eq!(
        value(&at_b, "witmesh_request_bytes_total", &greet_at_b),
        15.0
    );
    assert_eq!(
        value(&at_b, "witmesh_response_bytes_total", &greet_at_b),
        55.0
    );
    assert_eq!(served("trap", "trap"), 2.0);
    assert_eq!(
        value(
            &at_b,
            "witmesh_requests_total",
            &[("instance", FAULTS), ("outcome", "ok")]
        ),
        0.0
    );

    // `witmesh stat` since start, over A and (with --peers) B, which announced its admin.
    let out = std::process::Command::new(witmesh_tests::harness::witmesh_bin())
        .args([
            "stat",
            "--admin",
            &a.ready.admin.unwrap().to_string(),
            "--window",
            "0s",
            "--peers",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |node: &str, instance: &str, function: &str, direction: &str| -> Vec<String> {
        table
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|c| {
                c.len() == 10
                    && c[0] == node
                    && c[1] == instance
                    && c[2] == function
                    && c[3] == direction
            })
            .unwrap_or_else(|| {
                panic!("no row {node} {instance} {function} {direction} in\n{table}")
            })
    };
    let greet = row("a", RELAY, "greet", "inbound");
    assert_eq!(
        (greet[4].as_str(), greet[6].as_str()),
        ("100.0%", "5"),
        "{table}"
    );
    assert_ne!(greet[7], "-", "a p50 latency: {table}");
    let trap = row("a", RELAY, "trap", "inbound");
    assert_eq!(
        (trap[4].as_str(), trap[6].as_str()),
        ("0.0%", "2"),
        "{table}"
    );
    assert_eq!(row("b", GREET, "greet", "inbound")[6], "5", "{table}");
    assert_eq!(row("a", GREET, "greet", "outbound")[6], "5", "{table}");

    // Over a window while traffic flows: a rate.
    let load = tokio::spawn(async move {
        let end = std::time::Instant::now() + Duration::from_millis(1500);
        let mut n = 0;
        while std::time::Instant::now() < end {
            relay::greet(&client, (), "load").await.unwrap();
            n += 1;
        }
        n
    });
    let admin = a.ready.admin.unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(witmesh_tests::harness::witmesh_bin())
            .args(["stat", "--admin", &admin, "--window", "1s"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(load.await.unwrap() > 0);
    let table = String::from_utf8(out.stdout).unwrap();
    let rps: f64 = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.len() == 10 && c[1] == RELAY && c[2] == "greet")
        .unwrap_or_else(|| panic!("{table}"))[5]
        .parse()
        .unwrap();
    assert!(rps > 0.0, "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_bogus_function_names_count_as_other() {
    let nats = NatsServer::start();
    let (a, _b) = mesh(&nats);
    let client = std::sync::Arc::new(quic_client(&a).await);
    const N: usize = 10_000;
    for chunk in 0..N / 200 {
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..200 {
            let client = client.clone();
            calls.spawn(async move {
                let name = format!("bogus-{}", chunk * 200 + i);
                let paths: &[&[Option<usize>]] = &[];
                // The invocation fails; only the name matters.
                let _ = client.invoke((), RELAY, &name, Bytes::new(), paths).await;
            });
        }
        while calls.join_next().await.is_some() {}
    }
    let other = |s: &[Sample]| {
        value(
            s,
            "witmesh_requests_total",
            &[
                ("instance", "other"),
                ("function", "other"),
                ("outcome", "unknown-function"),
            ],
        )
    };
    wait_until("A counts every bogus call", Duration::from_secs(30), || {
        other(&scrape(&a)) == N as f64
    });
    let functions: BTreeSet<String> = scrape(&a)
        .into_iter()
        .filter(|(n, _, _)| n.starts_with("witmesh_request"))
        .filter_map(|(_, mut labels, _)| labels.remove("function"))
        .collect();
    assert_eq!(
        functions,
        BTreeSet::from(["other".to_owned()]),
        "no bogus name became a label"
    );
    // The sidecar still serves.
    let client = quic_client(&a).await;
    assert_eq!(
        relay::greet(&client, (), "after").await.unwrap(),
        "Hello, after!"
    );
}
