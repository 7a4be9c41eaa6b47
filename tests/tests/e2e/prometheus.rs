//! A real Prometheus (Debian's `prometheus`, started here on a free loopback port with
//! `deploy/prometheus/prometheus.yml`, storage in a temporary directory) scrapes two sidecars
//! under load; then every PromQL expression of the Grafana dashboard in `deploy/grafana/` runs
//! against Prometheus's HTTP API and must return data. This keeps the dashboards true.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use witmesh_tests::components;
use witmesh_tests::harness::{free_port, http, path, quic_client, wait_until, NatsServer, Sidecar};
use witmesh_tests::relay_client::witmesh::relay::relay;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Prometheus, killed by PID when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts it on the deploy config with a 1 s scrape interval, scraping `targets`.
    fn start(dir: &Path, targets: &[SocketAddr]) -> Self {
        let config = std::fs::read_to_string(deploy().join("prometheus/prometheus.yml")).unwrap();
        assert!(config.contains("scrape_interval: 15s"), "{config}");
        let config = config.replace("interval: 15s", "interval: 1s");
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        std::fs::create_dir_all(dir.join("targets")).unwrap();
        let targets: Vec<String> = targets.iter().map(ToString::to_string).collect();
        std::fs::write(
            dir.join("targets/test.json"),
            serde_json::json!([{ "targets": targets, "labels": { "env": "test" } }]).to_string(),
        )
        .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("prometheus is not installed (apt-get install prometheus)");
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start prometheus");
        let p = Prometheus { child, addr };
        wait_until("prometheus to be ready", Duration::from_secs(60), || {
            std::net::TcpStream::connect(addr).is_ok()
                && http(addr, "GET", "/-/ready", &[], b"").status == 200
        });
        p
    }

    /// The result vector of the instant query `expr`.
    fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let answer = http(
            self.addr,
            "GET",
            &format!("/api/v1/query?query={}", encode(expr)),
            &[],
            b"",
        );
        let body = answer.json();
        assert_eq!(body["status"], "success", "{expr}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every query of the dashboard, with its variables at "All" and Grafana's rate interval
/// fixed: each panel target's `expr`, and each `label_values(METRIC, LABEL)` variable as
/// `count by (LABEL) (METRIC)`.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy().join("grafana/dashboards/witmesh.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let fill = |e: &str| {
        e.replace("$__rate_interval", "15s")
            .replace("$wit_instance", ".*")
            .replace("$function", ".*")
            .replace("$node", ".*")
            .replace("$component", ".*")
    };
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or_default();
            out.push((title.to_owned(), fill(t["expr"].as_str().unwrap())));
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        let Some(q) = v["query"]["query"].as_str() else {
            continue;
        };
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable query {q} is not label_values(...)"));
        let (metric, label) = inner.rsplit_once(',').unwrap();
        out.push((
            format!("variable {}", v["name"]),
            fill(&format!("count by ({}) ({metric})", label.trim())),
        ));
    }
    assert!(out.len() >= 15, "{out:?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let b = Sidecar::node(
        &nats,
        "b",
        &[components::greeter(), components::faults()],
        &[],
        &[],
    );
    // A retries traps (marked idempotent) within a budget of one retry a second, so retries
    // and refused retries both happen.
    let config = dir.path().join("a.toml");
    std::fs::write(
        &config,
        "[mesh]\nidempotent = [\"witmesh:faults/faults@0.1.0.trap\"]\n\
         retry_budget_percent = 0\nretry_min_per_second = 1\n",
    )
    .unwrap();
    let a = Sidecar::node(
        &nats,
        "a",
        &[components::relay()],
        &["--config", path(&config)],
        &[],
    );
    a.wait_for_log("discovered node b");
    let prometheus = Prometheus::start(
        dir.path(),
        &[a.ready.admin.unwrap(), b.ready.admin.unwrap()],
    );

    // Load until the queries have data: greetings forwarded A -> B, and now and then a trap.
    let stop = Arc::new(AtomicBool::new(false));
    let client = quic_client(&a).await;
    let load = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut calls = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..4 {
                    relay::greet(&client, (), "prometheus").await.unwrap();
                }
                assert!(relay::trap(&client, ()).await.is_err());
                calls += 5;
            }
            calls
        })
    };

    let queries = dashboard_queries();
    let empty = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let empty: Vec<(String, String)> = queries
                .iter()
                .filter(|(_, q)| prometheus.query(q).is_empty())
                .cloned()
                .collect();
            if empty.is_empty() || Instant::now() > deadline {
                // Both sidecars are told apart by `node`, and the WIT instance survives as
                // `instance` (honor_labels in the deploy config).
                let nodes = prometheus.query("count by (node) (witmesh_requests_total)");
                assert_eq!(nodes.len(), 2, "{nodes:?}");
                let relay = prometheus.query(
                    "witmesh_requests_total{instance=\"witmesh:relay/relay@0.1.0\", direction=\"inbound\"}",
                );
                assert!(!relay.is_empty());
                let up = prometheus.query("up{job=\"witmesh\"} == 1");
                assert_eq!(up.len(), 2, "{up:?}");
                return empty;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let calls = load.await.unwrap();
    assert!(calls > 0);
    assert!(
        empty.is_empty(),
        "dashboard queries without data after 90 s of load:\n{}",
        empty
            .iter()
            .map(|(panel, q)| format!("  {panel}: {q}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
