//! `witmesh bench` against live sidecars: exact call counts over NATS, QUIC and the HTTP
//! gateway; generated arguments valid for every type of the every-type component; failures
//! counted by class without stopping the run; the open-loop rate held; histogram, plot and
//! comparison files.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use witmesh_proto::{Ty, WitSet};
use witmesh_tests::components;
use witmesh_tests::harness::{path, run_witmesh, NatsServer, Sidecar};

const GREET: &str = "local:greeter-demo/greet.greet";

fn serve(nats: &NatsServer, component: &Path, prefix: &str) -> Sidecar {
    Sidecar::node(nats, prefix, &[component], &["--http", "127.0.0.1:0"], &[])
}

/// Runs `witmesh bench ARGS --json` and returns the summary.
fn bench(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench", "--json"];
    all.extend(args);
    let (status, stdout, stderr) = run_witmesh(&all);
    assert_eq!(status, 0, "witmesh {all:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn greet_wit() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("wit/greeter")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn exactly_the_calls_asked_for_over_nats_quic_and_http() {
    let nats = NatsServer::start();
    let s = serve(&nats, components::greeter(), "g");
    let cert = s.dir.path().join(".witmesh/dev-cert.pem");
    let quic = s.ready.quic.unwrap().to_string();
    let http = format!("http://{}", s.ready.http.unwrap());
    let wit = greet_wit();
    let runs = [
        ("nats", vec!["--nats", nats.url.as_str(), "--prefix", "g"]),
        (
            "quic",
            vec![
                "--quic",
                quic.as_str(),
                "--ca",
                path(&cert),
                "--connections",
                "2",
            ],
        ),
        ("http", vec!["--http", http.as_str(), "--wit", wit.as_str()]),
    ];
    for (transport, connect) in runs {
        let mut args = connect.clone();
        args.extend([
            "--calls",
            "200",
            "-c",
            "4",
            "--warmup",
            "10",
            GREET,
            "\"bench\"",
        ]);
        let s = bench(&args);
        assert_eq!(s["transport"], transport, "{s}");
        assert_eq!(s["calls"], 200, "{s}");
        assert_eq!(s["ok"], 200, "{s}");
        assert_eq!(s["errors"], serde_json::json!({}), "{s}");
        let l = &s["latency_us"];
        let p = |k: &str| l[k].as_u64().unwrap();
        assert!(
            p("min") > 0 && p("min") <= p("p50") && p("p50") <= p("p99") && p("p99") <= p("max"),
            "{s}"
        );
        assert!(s["calls_per_second"].as_f64().unwrap() > 0.0);
    }
}

fn every_echo_function() -> Vec<(String, Vec<Ty>)> {
    let set = WitSet::load(witmesh_tests::every_type_wit_dir()).unwrap();
    let (_, funcs) = set
        .instances()
        .into_iter()
        .find(|(i, _)| i == witmesh_tests::ECHO_INSTANCE)
        .unwrap();
    funcs
        .iter()
        .map(|f| {
            let func = set.func(witmesh_tests::ECHO_INSTANCE, &f.name).unwrap();
            (func.name.clone(), func.params.to_vec())
        })
        .collect()
}

#[test]
fn generated_arguments_are_valid_for_every_type() {
    let nats = NatsServer::start();
    let _s = serve(&nats, components::every_type(), "e");
    let mut tried = 0;
    for (name, params) in every_echo_function() {
        // Generated handles are not ones the component issued: such calls fail by design.
        if params.iter().any(Ty::has_handles) {
            continue;
        }
        let target = format!("{}.{name}", witmesh_tests::ECHO_INSTANCE);
        let s = bench(&[
            "--nats", &nats.url, "--prefix", "e", "--gen", "--size", "64", "--calls", "5", &target,
        ]);
        assert_eq!(
            (s["calls"].as_u64(), s["ok"].as_u64()),
            (Some(5), Some(5)),
            "{target}: {s}"
        );
        tried += 1;
    }
    assert!(tried >= 20, "only {tried} functions");
}

#[test]
fn failures_are_counted_by_class_and_the_run_goes_on() {
    let nats = NatsServer::start();
    let _s = serve(&nats, components::faults(), "f");
    let s = bench(&[
        "--nats",
        &nats.url,
        "--prefix",
        "f",
        "--calls",
        "40",
        "-c",
        "4",
        "witmesh:faults/faults@0.1.0.trap",
    ]);
    assert_eq!(s["calls"], 40, "{s}");
    assert_eq!(s["ok"], 0, "{s}");
    assert_eq!(s["errors"], serde_json::json!({"trap": 40}), "{s}");
    // Nothing serves this prefix: each call fails fast as unreachable, and all are made.
    let wit = greet_wit();
    let s = bench(&[
        "--nats", &nats.url, "--prefix", "nobody", "--wit", &wit, "--calls", "25", GREET, "\"x\"",
    ]);
    assert_eq!(s["errors"], serde_json::json!({"unreachable": 25}), "{s}");
}

#[test]
fn the_open_loop_rate_holds_and_files_are_written() {
    let nats = NatsServer::start();
    let _s = serve(&nats, components::greeter(), "g");
    let dir = tempfile::tempdir().unwrap();
    let (hist, svg, png, a, b) = (
        dir.path().join("h.hgrm"),
        dir.path().join("p.svg"),
        dir.path().join("p.png"),
        dir.path().join("a.json"),
        dir.path().join("b.json"),
    );
    let s = bench(&[
        "--nats",
        &nats.url,
        "--prefix",
        "g",
        "--rate",
        "100",
        "--duration",
        "2s",
        "-c",
        "8",
        "--hist",
        path(&hist),
        "--plot",
        path(&svg),
        GREET,
        "\"rate\"",
    ]);
    let calls = s["calls"].as_u64().unwrap();
    assert!(
        (190..=201).contains(&calls),
        "{calls} calls at 100/s for 2 s: {s}"
    );
    let rate = s["calls_per_second"].as_f64().unwrap();
    assert!((85.0..=110.0).contains(&rate), "{rate} calls/s: {s}");
    assert_eq!(s["rate"], 100.0);
    let hgrm = std::fs::read_to_string(&hist).unwrap();
    assert!(
        hgrm.contains(&format!("Total count    = {calls:>12}")),
        "{hgrm}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    std::fs::write(&a, serde_json::to_string(&s).unwrap()).unwrap();

    let s = bench(&[
        "--nats",
        &nats.url,
        "--prefix",
        "g",
        "--calls",
        "100",
        "--plot",
        path(&png),
        GREET,
        "\"closed\"",
    ]);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    std::fs::write(&b, serde_json::to_string(&s).unwrap()).unwrap();
    let (status, out, err) = run_witmesh(&["bench", "--compare", path(&a), path(&b)]);
    assert_eq!(status, 0, "{err}");
    let calls_row = out.lines().find(|l| l.starts_with("calls ")).unwrap();
    assert!(
        calls_row.contains("100") && calls_row.trim_end().ends_with('x'),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("p99 ")), "{out}");

    let (status, _, err) = run_witmesh(&["bench", "--compare", path(&a), path(&hist)]);
    assert_eq!(status, 1);
    assert!(
        err.contains("is not a `witmesh bench --json` summary"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_wrpc_server_can_be_benchmarked() {
    // A native wit-bindgen-wrpc server, no witmesh on the serving side: types from --wit.
    let nats = NatsServer::start();
    let _server = witmesh_tests::native::serve_greeter(
        &nats.url,
        "native",
        witmesh_tests::native::NativeGreeter("Hi"),
    )
    .await
    .unwrap();
    let url = nats.url.clone();
    let s = tokio::task::spawn_blocking(move || {
        bench(&[
            "--nats",
            &url,
            "--prefix",
            "native",
            "--wit",
            &greet_wit(),
            "--calls",
            "100",
            "-c",
            "8",
            GREET,
            "\"native\"",
        ])
    })
    .await
    .unwrap();
    assert_eq!(
        (s["calls"].as_u64(), s["ok"].as_u64()),
        (Some(100), Some(100)),
        "{s}"
    );
}

#[test]
fn usage_errors_exit_64_with_the_reason() {
    let target = "local:greeter-demo/greet.greet";
    for (args, reason) in [
        (vec!["--rate", "0"], "--rate must be a positive number"),
        (vec!["--rate", "NaN"], "--rate must be a positive number"),
        (
            vec!["--concurrency", "0"],
            "--concurrency and --connections must be at least 1",
        ),
        (
            vec!["--connections", "0"],
            "--concurrency and --connections must be at least 1",
        ),
        (vec!["--via", "127.0.0.1:1"], "bench calls servers directly"),
    ] {
        let mut all = vec!["bench"];
        if args[0] != "--via" {
            all.extend(["--nats", "nats://127.0.0.1:1"]);
        }
        all.extend(&args);
        all.push(target);
        let (status, _, stderr) = run_witmesh(&all);
        assert_eq!(status, 64, "witmesh {all:?}: {stderr}");
        assert!(stderr.contains(reason), "witmesh {all:?}: {stderr}");
    }
}
