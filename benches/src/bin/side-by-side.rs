//! The side-by-side harness: what witmesh costs against plain wRPC, measured in one run.
//!
//! It starts its own nats-server, witmesh sidecars and native servers, and for each payload
//! (the `name` of `local:greeter-demo/greet.greet`) × concurrency measures, in rotating rounds
//! so every path shares the machine's noise:
//!
//! - `raw-nats`, `raw-quic`: the transports underneath (NATS request-reply; one QUIC stream per
//!   request, echoed), the floor;
//! - `native-nats`, `native-quic`: a `wit-bindgen-wrpc` client to a native `wit-bindgen-wrpc`
//!   server (over NATS a separate process, the examples' `greeter-server`), the baseline;
//! - `witmesh-nats`, `witmesh-quic`: the client to witmesh serving the greeter component;
//! - `two-hops-nats`, `two-hops-quic`: the client to sidecar A (relay component) forwarding to
//!   sidecar B's greeter;
//! - `http`: JSON through sidecar B's HTTP gateway;
//! - `wrpc-wasmtime`: upstream's own host serving the same component over NATS, when the
//!   `wrpc-wasmtime` binary (wrpc 0.17) is on PATH; never in CI.
//!
//! It records each sidecar's RSS idle and at its peak, and CPU time per call of the witmesh
//! servers and the native NATS server. Results go to `--out` (default
//! `benches/results/<date>/`) as `side-by-side.json`, a markdown table of ratios to the
//! baseline (`side-by-side.md`) and a plot of p50 latency per path (`side-by-side.svg`).
//!
//! The report also gives what witmesh adds per network hop it makes, against the issue's
//! targets (≤ 50 µs at p50, ≤ 200 µs at p99): `witmesh-*` − native, and (`two-hops-*` − 2 ×
//! native) / 2, as the older `mesh-bench` binary printed it from the same three paths.
//!
//! `--serve` measures instead what the older `serve-bench` binary did: the every-type
//! component's `echo-bytes` served by a sidecar against a native server of the same interface
//! (see [`witmesh_benches::serve`]); it prints its table and writes no files.
//!
//! `cargo build --release --workspace && ./target/release/side-by-side` for the README
//! numbers; `--quick` is the small run the test command makes so the harness cannot rot.

use std::path::{Path as FsPath, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use clap::Parser;
use serde_json::json;
use witmesh_benches::client::{Call, Client, Transport};
use witmesh_benches::measure::{cpu_time, locate_witmesh, measure_cell, memory_kib, Cell, Plan};
use witmesh_benches::native::{greeter_quic, raw_servers};
use witmesh_benches::payload::{fmt_size, A_PREFIX, B_PREFIX, NATIVE_PREFIX, UPSTREAM_PREFIX};
use witmesh_benches::serve::{self, Shape};
use witmesh_benches::sidecar::{greeter_server, upstream_host, Mesh};
use witmesh_tests::harness::NatsServer;

/// Side-by-side: witmesh against plain wRPC, in one run.
#[derive(Debug, Parser)]
struct Args {
    /// Measured calls per path per cell.
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
    /// Warm-up calls per path per cell.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Rounds each cell's calls are split into, rotating the paths' order.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Payload sizes in bytes [default: 16,1024,65536; with --serve 16,1024].
    #[arg(long, value_delimiter = ',')]
    payloads: Option<Vec<usize>>,
    /// Concurrency levels [default: 1,16,64; with --serve 1,64].
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// A small run (50 calls, 16 B and 1 KiB, concurrency 1 and 4): for the test command.
    #[arg(long)]
    quick: bool,
    /// Where the results go (default `benches/results/<date>`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure serving instead (was `serve-bench`): the every-type component's `echo-bytes`
    /// served by a sidecar against a native server, over each of --transports; prints its
    /// table and writes no files.
    #[arg(long)]
    serve: bool,
    /// What --serve sends the bytes as: bare (`echo-bytes`), in a record (`echo-blob`) [default: both].
    #[arg(long, value_delimiter = ',', default_values_t = [Shape::Bytes, Shape::Record])]
    shapes: Vec<Shape>,
    /// The transports --serve measures, in order.
    #[arg(long, value_delimiter = ',', default_values_t = [Transport::Nats, Transport::Quic])]
    transports: Vec<Transport>,
    /// A single call slower than this aborts the run [default: 30000; with --serve 10000].
    #[arg(long)]
    call_timeout_ms: Option<u64>,
}

/// The paths measured, in table order; the baseline of each transport comes first after its
/// floor.
const PATHS: [&str; 10] = [
    "raw-nats",
    "native-nats",
    "witmesh-nats",
    "two-hops-nats",
    "wrpc-wasmtime",
    "raw-quic",
    "native-quic",
    "witmesh-quic",
    "two-hops-quic",
    "http",
];

/// The baseline each path is compared with.
fn baseline(path: &str) -> &'static str {
    if path.ends_with("quic") {
        "native-quic"
    } else {
        "native-nats"
    }
}

/// Paths whose servers run inside this process, where their CPU cannot be told apart from
/// the clients'.
const IN_PROCESS: [&str; 3] = ["raw-nats", "raw-quic", "native-quic"];

/// The targets for what witmesh adds per network hop, microseconds.
const P50_PER_HOP_TARGET_US: f64 = 50.0;
const P99_PER_HOP_TARGET_US: f64 = 200.0;

/// A process measured for memory and CPU.
struct Watched {
    name: &'static str,
    pid: u32,
    idle_rss_kib: u64,
    cpu_before: Duration,
    /// The paths whose calls it serves (for CPU per call).
    serves: &'static [&'static str],
}

impl Watched {
    fn new(name: &'static str, pid: u32, serves: &'static [&'static str]) -> Result<Self> {
        Ok(Watched {
            name,
            pid,
            idle_rss_kib: memory_kib(pid)?.0,
            cpu_before: cpu_time(pid)?,
            serves,
        })
    }
}

/// What a run measures once `--quick` and the mode's defaults are applied.
struct Settings {
    plan: Plan,
    payloads: Vec<usize>,
    concurrency: Vec<usize>,
}

fn settings(args: &Args) -> Settings {
    let (payloads, concurrency, timeout_ms) = if args.serve {
        (vec![16, 1024], vec![1, 64], 10_000)
    } else {
        (vec![16, 1024, 65536], vec![1, 16, 64], 30_000)
    };
    let mut s = Settings {
        plan: Plan {
            calls: args.calls,
            warmup: args.warmup,
            rounds: args.rounds,
            timeout: Duration::from_millis(args.call_timeout_ms.unwrap_or(timeout_ms)),
        },
        payloads: args.payloads.clone().unwrap_or(payloads),
        concurrency: args.concurrency.clone().unwrap_or(concurrency),
    };
    if args.quick {
        s.plan.calls = 50;
        s.plan.warmup = 10;
        s.plan.rounds = 2;
        s.payloads = vec![16, 1024];
        s.concurrency = vec![1, 4];
    }
    s
}

fn main() -> Result<()> {
    let args = Args::parse();
    let settings = settings(&args);
    ensure!(settings.plan.calls > 0, "--calls must be positive");
    ensure!(
        settings.concurrency.iter().all(|&c| c > 0),
        "concurrency levels must be positive"
    );
    if args.serve {
        return serve::run(&serve::Options {
            plan: settings.plan,
            payloads: settings.payloads,
            concurrency: settings.concurrency,
            transports: args.transports,
            shapes: args.shapes,
        });
    }
    let bin = locate_witmesh()?;
    let started = Instant::now();
    let nats = NatsServer::start();
    let mesh = Mesh::start(&nats)?;
    let native = greeter_server(&bin, &nats)?;
    let upstream = upstream_host(&nats);
    let Mesh { b, a_nats, a_quic } = &mesh;
    eprintln!(
        "side-by-side: witmesh {}; b {} | a-nats {} | a-quic {}; upstream host: {}",
        bin.display(),
        b.ready.line,
        a_nats.ready.line,
        a_quic.ready.line,
        if upstream.is_some() {
            "wrpc-wasmtime"
        } else {
            "not installed"
        }
    );
    let mut watched = vec![
        Watched::new(
            "sidecar b (witmesh serving)",
            b.pid(),
            &[
                "witmesh-nats",
                "witmesh-quic",
                "two-hops-nats",
                "two-hops-quic",
                "http",
            ],
        )?,
        Watched::new(
            "sidecar a-nats (forwarding)",
            a_nats.pid(),
            &["two-hops-nats"],
        )?,
        Watched::new(
            "sidecar a-quic (forwarding)",
            a_quic.pid(),
            &["two-hops-quic"],
        )?,
        Watched::new(
            "native greeter-server (NATS)",
            native.pid(),
            &["native-nats"],
        )?,
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let mut servers = vec![b.pid(), a_nats.pid(), a_quic.pid(), native.pid()];
    servers.extend(upstream.as_ref().map(|p| p.pid()));
    let cells = rt.block_on(run(&settings, &nats, &mesh, upstream.is_some(), &servers))?;
    let plan = settings.plan;
    let out = args.out.clone().unwrap_or_else(|| {
        FsPath::new(env!("CARGO_MANIFEST_DIR"))
            .join("results")
            .join(today())
    });
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut processes = Vec::new();
    for w in &mut watched {
        let (rss, peak) = memory_kib(w.pid)?;
        let cpu = cpu_time(w.pid)?.saturating_sub(w.cpu_before);
        let calls: usize = cells
            .iter()
            .flat_map(|c| w.serves.iter().filter_map(|p| c.samples.get(p)))
            .map(|s| s.latencies_ns.len())
            .sum::<usize>()
            + plan.warmup * cells.len() * w.serves.len();
        processes.push(json!({
            "name": w.name,
            "idle_rss_mib": w.idle_rss_kib as f64 / 1024.0,
            "rss_mib": rss as f64 / 1024.0,
            "peak_rss_mib": peak as f64 / 1024.0,
            "cpu_seconds": cpu.as_secs_f64(),
            "calls_served": calls,
        }));
    }
    let machine = json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "cpu": cpu_model(),
    });
    let doc = json!({
        "date": today(),
        "quick": args.quick,
        "calls_per_cell": plan.calls,
        "warmup_per_cell": plan.warmup,
        "rounds": plan.rounds,
        "machine": machine,
        "upstream_host": if upstream.is_some() { "wrpc-wasmtime" } else { "not installed" },
        "cells": cells.iter().map(|c| json!({
            "payload": c.payload,
            "concurrency": c.concurrency,
            "paths": c.samples.iter().map(|(p, s)| (p.to_string(), json!({
                "calls": s.latencies_ns.len(),
                "p50_us": s.percentile_us(50.0),
                "p99_us": s.percentile_us(99.0),
                "calls_per_second": s.calls_per_sec(),
                "server_cpu_us_per_call": server_cpu_per_call(c, p),
            }))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "processes": processes,
    });
    std::fs::write(
        out.join("side-by-side.json"),
        serde_json::to_string_pretty(&doc)? + "\n",
    )?;
    let table = markdown(&doc, &cells);
    std::fs::write(out.join("side-by-side.md"), &table)?;
    plot(&cells, &out.join("side-by-side.svg"))?;
    println!("{table}");
    eprintln!(
        "side-by-side: {:.1}s; results in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

async fn run(
    settings: &Settings,
    nats: &NatsServer,
    mesh: &Mesh,
    upstream: bool,
    servers: &[u32],
) -> Result<Vec<Cell>> {
    let Mesh { b, a_quic, .. } = mesh;
    let (raw_quic, raw_pem) = raw_servers(&nats.url).await?;
    let (native_quic, native_pem) = greeter_quic().await?;
    let mut clients: Vec<(&'static str, Client)> = vec![
        ("raw-nats", Client::raw_nats(&nats.url).await?),
        (
            "native-nats",
            Client::nats(&nats.url, NATIVE_PREFIX, Call::Greet).await?,
        ),
        (
            "witmesh-nats",
            Client::nats(&nats.url, B_PREFIX, Call::Greet).await?,
        ),
        (
            "two-hops-nats",
            Client::nats(&nats.url, A_PREFIX, Call::RelayGreet).await?,
        ),
        (
            "raw-quic",
            Client::raw_quic(raw_quic, raw_pem.as_bytes()).await?,
        ),
        (
            "native-quic",
            Client::quic(Some(native_quic), native_pem.as_bytes(), Call::Greet).await?,
        ),
        (
            "witmesh-quic",
            Client::quic(b.ready.quic, &b.dev_cert(), Call::Greet).await?,
        ),
        (
            "two-hops-quic",
            Client::quic(a_quic.ready.quic, &a_quic.dev_cert(), Call::RelayGreet).await?,
        ),
        ("http", Client::http(b.ready.http)?),
    ];
    if upstream {
        // Upstream's host prints nothing to wait for: ready when a call succeeds.
        let client = Client::nats(&nats.url, UPSTREAM_PREFIX, Call::Greet).await?;
        let ready = witmesh_benches::payload::Payload::new(5);
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.call(&ready).await.is_err() {
            ensure!(
                Instant::now() < deadline,
                "wrpc-wasmtime did not serve within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        clients.push(("wrpc-wasmtime", client));
    }
    let mut cells = Vec::new();
    for &payload in &settings.payloads {
        for &concurrency in &settings.concurrency {
            let t = Instant::now();
            let cell =
                measure_cell(&settings.plan, &clients, payload, concurrency, servers).await?;
            eprintln!(
                "side-by-side: {} c{concurrency}: p50 native-nats {:.0} µs, witmesh-nats {:.0} µs, native-quic {:.0} µs, witmesh-quic {:.0} µs ({:.1}s)",
                fmt_size(payload),
                cell.samples["native-nats"].percentile_us(50.0),
                cell.samples["witmesh-nats"].percentile_us(50.0),
                cell.samples["native-quic"].percentile_us(50.0),
                cell.samples["witmesh-quic"].percentile_us(50.0),
                t.elapsed().as_secs_f64()
            );
            cells.push(cell);
        }
    }
    Ok(cells)
}

/// CPU µs the servers of path `p` spent per measured call, where they run out of process.
fn server_cpu_per_call(c: &Cell, p: &str) -> Option<f64> {
    if IN_PROCESS.contains(&p) {
        return None;
    }
    let calls = c.samples.get(p)?.latencies_ns.len().max(1) as f64;
    Some(c.server_cpu.get(p)?.as_secs_f64() * 1e6 / calls)
}

/// The markdown report: per cell, every path's p50, p99 and throughput, with ratios to its
/// transport's native baseline; then the processes' memory and CPU.
fn markdown(doc: &serde_json::Value, cells: &[Cell]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let m = &doc["machine"];
    let _ = writeln!(
        out,
        "# witmesh side by side ({})\n\n{} CPUs ({}), Linux {}; {} calls per path per cell in {} rotating rounds after {} warm-up calls; loopback. Ratios are against the native `wit-bindgen-wrpc` server over the same transport (for `http`, over NATS), measured in the same run. Server CPU is the CPU time of the out-of-process servers (sidecars, the native NATS server) during a path's calls, per call; nats-server's own is not counted; `-` where the server runs inside the harness.{}\n",
        doc["date"].as_str().unwrap_or_default(),
        m["cpus"],
        m["cpu"].as_str().unwrap_or("unknown CPU"),
        m["kernel"].as_str().unwrap_or_default(),
        doc["calls_per_cell"],
        doc["rounds"],
        doc["warmup_per_cell"],
        if doc["quick"] == true { " **Quick run: too few calls for conclusions.**" } else { "" },
    );
    let _ = writeln!(
        out,
        "| payload | conc. | path | p50 µs | p99 µs | calls/s | p50 × base | p99 × base | calls/s × base | p50 added µs | server CPU µs/call |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for c in cells {
        for p in PATHS {
            let Some(s) = c.samples.get(p) else { continue };
            let Some(base) = c.samples.get(baseline(p)) else {
                continue;
            };
            let (p50, p99, tp) = (
                s.percentile_us(50.0),
                s.percentile_us(99.0),
                s.calls_per_sec(),
            );
            let (b50, b99, btp) = (
                base.percentile_us(50.0),
                base.percentile_us(99.0),
                base.calls_per_sec(),
            );
            let cpu =
                server_cpu_per_call(c, p).map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                out,
                "| {} | {} | {p} | {p50:.0} | {p99:.0} | {tp:.0} | {:.2} | {:.2} | {:.2} | {:+.0} | {cpu} |",
                fmt_size(c.payload),
                c.concurrency,
                p50 / b50,
                p99 / b99,
                tp / btp,
                p50 - b50,
            );
        }
    }
    let _ = writeln!(
        out,
        "\n| process | idle RSS MiB | peak RSS MiB | CPU seconds in the run |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for p in doc["processes"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.2} |",
            p["name"].as_str().unwrap_or_default(),
            p["idle_rss_mib"].as_f64().unwrap_or(0.0),
            p["peak_rss_mib"].as_f64().unwrap_or(0.0),
            p["cpu_seconds"].as_f64().unwrap_or(0.0),
        );
    }
    out.push_str(&per_hop(cells));
    out
}

/// What witmesh adds per network hop it makes, over each transport: `witmesh-*` − native for
/// one hop, (`two-hops-*` − 2 × native) / 2 for two (the two-hop path crosses the network
/// twice where the native one crosses it once), at p50 and p99, against the targets.
fn per_hop(cells: &[Cell]) -> String {
    use std::fmt::Write as _;
    let verdict = |pass: bool| if pass { "PASS" } else { "MISS" };
    let mut out = format!(
        "\nAdded per network hop (one hop: witmesh − native; two hops: (two hops − 2 × native) / 2); targets ≤ {P50_PER_HOP_TARGET_US} µs at p50, ≤ {P99_PER_HOP_TARGET_US} µs at p99.\n\n\
         | payload | conc. | transport | added p50 µs (one / two hops) | added p99 µs (one / two hops) |\n\
         |---|---:|---|---:|---:|\n"
    );
    for c in cells {
        for t in [Transport::Nats, Transport::Quic] {
            let get = |p: &str| c.samples.get(format!("{p}-{t}").as_str());
            let (Some(n), Some(one), Some(two)) = (get("native"), get("witmesh"), get("two-hops"))
            else {
                continue;
            };
            let added = |q: f64| {
                let base = n.percentile_us(q);
                (
                    one.percentile_us(q) - base,
                    (two.percentile_us(q) - 2.0 * base) / 2.0,
                )
            };
            let ((one50, two50), (one99, two99)) = (added(50.0), added(99.0));
            let _ = writeln!(
                out,
                "| {} | {} | {t} | {one50:+.1} / {two50:+.1} {} | {one99:+.1} / {two99:+.1} {} |",
                fmt_size(c.payload),
                c.concurrency,
                verdict(one50.max(two50) <= P50_PER_HOP_TARGET_US),
                verdict(one99.max(two99) <= P99_PER_HOP_TARGET_US),
            );
        }
    }
    out
}

/// p50 latency of each path across the cells, one line per path.
fn plot(cells: &[Cell], file: &FsPath) -> Result<()> {
    use plotters::prelude::*;
    witmesh::bench::plot::register_font().map_err(anyhow::Error::msg)?;
    let root = SVGBackend::new(file, (1000, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let labels: Vec<String> = cells
        .iter()
        .map(|c| format!("{} c{}", fmt_size(c.payload), c.concurrency))
        .collect();
    let y_max = cells
        .iter()
        .flat_map(|c| c.samples.values().map(|s| s.percentile_us(50.0)))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("p50 latency per path (µs)", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .right_y_label_area_size(0)
        .build_cartesian_2d(0f64..(cells.len().max(2) - 1) as f64, 0f64..y_max)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_labels(cells.len())
        .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
        .y_desc("µs")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (i, p) in PATHS.iter().enumerate() {
        let points: Vec<(f64, f64)> = cells
            .iter()
            .enumerate()
            .filter_map(|(x, c)| c.samples.get(p).map(|s| (x as f64, s.percentile_us(50.0))))
            .collect();
        if points.is_empty() {
            continue;
        }
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(*p)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default()
}

/// Today as `YYYY-MM-DD` (UTC).
fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "undated".to_owned())
}
