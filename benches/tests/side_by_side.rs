//! The side-by-side harness end to end in its quick mode, so it cannot rot: it starts its own
//! nats-server, sidecars and native servers and writes the JSON, the markdown table and the
//! plot, with every path measured; and its `--serve` mode (the serving comparison that was
//! `serve-bench`) measures both targets over both transports.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

#[test]
fn the_quick_run_measures_every_path_and_writes_its_results() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_side-by-side"))
        .args(["--quick", "--out", out.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "side-by-side --quick failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("side-by-side.json")).unwrap(),
    )
    .unwrap();
    let cells = doc["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "2 payloads x 2 concurrency levels");
    for cell in cells {
        for path in [
            "raw-nats",
            "native-nats",
            "witmesh-nats",
            "two-hops-nats",
            "raw-quic",
            "native-quic",
            "witmesh-quic",
            "two-hops-quic",
            "http",
        ] {
            let p = &cell["paths"][path];
            assert_eq!(p["calls"], 50, "{path} in {cell}");
            assert!(p["p50_us"].as_f64().unwrap() > 0.0, "{path} in {cell}");
            assert!(p["p99_us"].as_f64().unwrap() >= p["p50_us"].as_f64().unwrap());
            let cpu = &p["server_cpu_us_per_call"];
            if ["raw-nats", "raw-quic", "native-quic"].contains(&path) {
                assert!(cpu.is_null(), "{path}: {cpu}");
            } else {
                assert!(cpu.as_f64().is_some(), "{path}: {cpu}");
            }
        }
    }
    let processes = doc["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 4);
    assert!(processes
        .iter()
        .all(|p| p["idle_rss_mib"].as_f64().unwrap() > 0.0
            && p["calls_served"].as_u64().unwrap() > 0));
    let table = std::fs::read_to_string(out.path().join("side-by-side.md")).unwrap();
    assert!(table.contains("| 1 KiB | 4 | two-hops-quic |"), "{table}");
    assert!(table.contains("Quick run"), "{table}");
    let svg = std::fs::read_to_string(out.path().join("side-by-side.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("witmesh-quic"),
        "the plot has no legend"
    );
}

#[test]
fn the_quick_serve_run_measures_both_targets_over_both_transports() {
    let run = Command::new(env!("CARGO_BIN_EXE_side-by-side"))
        .args(["--serve", "--quick"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "side-by-side --serve --quick failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // 2 transports x 2 shapes (bare, record) x 2 payloads x 2 concurrency levels, each row
    // with both targets measured.
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| nats |") || l.starts_with("| quic |"))
        .collect();
    assert_eq!(rows.len(), 16, "{stdout}");
    assert_eq!(rows.iter().filter(|r| r.contains("| record |")).count(), 8);
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // native and witmesh p50, both positive.
        for i in [5, 6] {
            assert!(cells[i].parse::<f64>().unwrap() > 0.0, "{row}");
        }
    }
    assert!(
        stdout.contains("record vs bare list") && stdout.contains("nats 1 KiB c4: witmesh"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sidecar peak resident memory (VmHWM)"),
        "{stdout}"
    );
}
