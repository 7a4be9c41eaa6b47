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
//! `cargo build --release --workspace && ./target/release/side-by-side` for the README
//! numbers; `--quick` is the small run the test command makes so the harness cannot rot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use bytes::Bytes;
use clap::Parser;
use serde_json::json;
use witmesh::client::HttpCaller;
use witmesh_benches::measure::{
    self, cpu_time, fmt_size, locate_witmesh, memory_kib, quic_connect, Samples,
};
use witmesh_benches::native::{drive, native_tls, quic_server};
use witmesh_proto::{Func, Value, WitSet};
use witmesh_tests::greeter_client::local::greeter_demo::greet::greet;
use witmesh_tests::harness::{NatsServer, Program, Sidecar};
use witmesh_tests::native::NativeGreeter;
use witmesh_tests::relay_client::witmesh::relay::relay;

const GREET: &str = "local:greeter-demo/greet";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";
const RAW_SUBJECT: &str = "bench.raw.echo";

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
    /// Payload sizes in bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 1024, 65536])]
    payloads: Vec<usize>,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    concurrency: Vec<usize>,
    /// A small run (50 calls, 16 B and 1 KiB, concurrency 1 and 4): for the test command.
    #[arg(long)]
    quick: bool,
    /// Where the results go (default `benches/results/<date>`).
    #[arg(long)]
    out: Option<PathBuf>,
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

/// One long-lived connection to one path's server.
#[derive(Clone)]
enum Client {
    RawNats(async_nats::Client),
    RawQuic(quinn::Connection),
    Nats(wrpc_transport_nats::Client, bool),
    Quic(wrpc_transport_quic::Client, bool),
    Http(Arc<HttpCaller>, Arc<Func>),
}

impl Client {
    /// One call of `greet(name)` (or an echo of its bytes, for the raw paths), checked.
    async fn call(&self, name: &str) -> Result<()> {
        let expected = format!("Hello, {name}!");
        let got = match self {
            Client::RawNats(nats) => {
                let msg = nats
                    .request(RAW_SUBJECT, Bytes::copy_from_slice(name.as_bytes()))
                    .await?;
                ensure!(
                    msg.payload.as_ref() == name.as_bytes(),
                    "raw NATS echo differs"
                );
                return Ok(());
            }
            Client::RawQuic(conn) => {
                let (mut tx, mut rx) = conn.open_bi().await?;
                tx.write_all(name.as_bytes()).await?;
                tx.finish()?;
                let back = rx.read_to_end(1 << 20).await?;
                ensure!(back == name.as_bytes(), "raw QUIC echo differs");
                return Ok(());
            }
            Client::Nats(c, true) => relay::greet(c, None, name).await?,
            Client::Nats(c, false) => greet(c, None, name).await?,
            Client::Quic(c, true) => relay::greet(c, (), name).await?,
            Client::Quic(c, false) => greet(c, (), name).await?,
            Client::Http(h, func) => {
                let out = h
                    .call(
                        func,
                        &[Value::String(name.to_owned())],
                        Duration::from_secs(30),
                    )
                    .await?;
                match out.as_slice() {
                    [Value::String(s)] => s.clone(),
                    other => anyhow::bail!("the gateway answered {other:?}"),
                }
            }
        };
        ensure!(
            got == expected,
            "answered {} bytes, not the greeting",
            got.len()
        );
        Ok(())
    }
}

/// The raw floors' servers: a NATS responder and a QUIC echo, both in this process.
async fn raw_servers(nats_url: &str) -> Result<(SocketAddr, String)> {
    let nats = async_nats::connect(nats_url).await?;
    let mut sub = nats.subscribe(RAW_SUBJECT).await?;
    tokio::spawn(async move {
        use futures::StreamExt as _;
        while let Some(msg) = sub.next().await {
            if let Some(reply) = msg.reply {
                let _ = nats.publish(reply, msg.payload).await;
            }
        }
    });
    let (config, pem) = native_tls()?;
    let endpoint = quinn::Endpoint::server(config, SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = endpoint.local_addr()?;
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                while let Ok((mut tx, mut rx)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        if let Ok(data) = rx.read_to_end(1 << 20).await {
                            let _ = tx.write_all(&data).await;
                            let _ = tx.finish();
                        }
                    });
                }
            });
        }
    });
    Ok((addr, pem))
}

fn name(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

fn path_str(p: &FsPath) -> &str {
    p.to_str().unwrap_or_default()
}

/// Every path's samples in one cell, and the CPU time the out-of-process servers spent on
/// each path's measured calls.
struct Cell {
    payload: usize,
    concurrency: usize,
    samples: BTreeMap<&'static str, Samples>,
    server_cpu: BTreeMap<&'static str, Duration>,
}

/// Paths whose servers run inside this process, where their CPU cannot be told apart from
/// the clients'.
const IN_PROCESS: [&str; 3] = ["raw-nats", "raw-quic", "native-quic"];

/// Total CPU time of `pids`' threads so far, to the nanosecond (`/proc/PID/task/*/schedstat`;
/// the clock-tick counts of `/proc/PID/stat` are too coarse for one batch).
fn cpu_of(pids: &[u32]) -> Duration {
    let ns: u64 = pids
        .iter()
        .filter_map(|pid| std::fs::read_dir(format!("/proc/{pid}/task")).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

async fn measure_cell(
    args: &Args,
    clients: &[(&'static str, Client)],
    payload: usize,
    concurrency: usize,
    servers: &[u32],
) -> Result<Cell> {
    let name = name(payload);
    let timeout = Duration::from_secs(30);
    let label = |p: &str| format!("{p}/{}/c{concurrency}", fmt_size(payload));
    for (p, c) in clients {
        batch(c, &name, concurrency, args.warmup, timeout, &label(p)).await?;
    }
    let mut samples: BTreeMap<&'static str, Samples> = BTreeMap::new();
    let mut server_cpu: BTreeMap<&'static str, Duration> = BTreeMap::new();
    let rounds = args.rounds.max(1);
    for r in 0..rounds {
        let n = args.calls / rounds + usize::from(r < args.calls % rounds);
        for k in 0..clients.len() {
            let (p, c) = &clients[(k + r) % clients.len()];
            // The paths run one at a time: what the servers spend meanwhile is this path's.
            let cpu0 = cpu_of(servers);
            let (lat, wall) = batch(c, &name, concurrency, n, timeout, &label(p)).await?;
            *server_cpu.entry(*p).or_default() += cpu_of(servers).saturating_sub(cpu0);
            let s = samples.entry(*p).or_default();
            s.latencies_ns.extend(lat);
            s.wall += wall;
        }
    }
    Ok(Cell {
        payload,
        concurrency,
        samples,
        server_cpu,
    })
}

async fn batch(
    client: &Client,
    name: &str,
    concurrency: usize,
    calls: usize,
    timeout: Duration,
    what: &str,
) -> Result<(Vec<u64>, Duration)> {
    let (client, name) = (client.clone(), name.to_owned());
    measure::batch(concurrency, calls, timeout, what, move || {
        let (client, name) = (client.clone(), name.clone());
        async move { client.call(&name).await }
    })
    .await
}

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

fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.calls = 50;
        args.warmup = 10;
        args.rounds = 2;
        args.payloads = vec![16, 1024];
        args.concurrency = vec![1, 4];
    }
    ensure!(args.calls > 0, "--calls must be positive");
    let bin = locate_witmesh()?;
    let started = Instant::now();
    let nats = NatsServer::start();
    let no_discovery = [("WITMESH_MESH__DISCOVERY", "false")];
    let components = witmesh_tests::components::greeter();
    let b = Sidecar::start_with_env(
        &[
            "--component",
            path_str(components),
            "--component",
            path_str(witmesh_tests::components::faults()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            "bench.b",
            "--quic",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--node-id",
            "b",
        ],
        &no_discovery,
    );
    let b_quic = format!("quic://{}", b.ready.quic.context("b serves no QUIC")?);
    let b_cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let relay = path_str(witmesh_tests::components::relay()).to_owned();
    let routes_nats = [
        format!("{GREET}=nats:bench.b"),
        format!("{FAULTS}=nats:bench.b"),
    ];
    let a_nats = Sidecar::start_with_env(
        &[
            "--component",
            &relay,
            "--nats",
            &nats.url,
            "--nats-prefix",
            "bench.a",
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            "a-nats",
            "--route",
            &routes_nats[0],
            "--route",
            &routes_nats[1],
        ],
        &no_discovery,
    );
    let routes_quic = [format!("{GREET}={b_quic}"), format!("{FAULTS}={b_quic}")];
    let a_quic = Sidecar::start_with_env(
        &[
            "--component",
            &relay,
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            "a-quic",
            "--route",
            &routes_quic[0],
            "--route",
            &routes_quic[1],
            "--ca",
            path_str(&b_cert),
        ],
        &no_discovery,
    );
    let greeter_server = bin.with_file_name("greeter-server");
    ensure!(
        greeter_server.is_file(),
        "{} is missing: build the examples too (cargo build --release --workspace)",
        greeter_server.display()
    );
    let native = Program::start(
        &greeter_server,
        &[
            "--nats",
            &nats.url,
            "--prefix",
            "bench.native",
            "--lattice",
            "side-by-side",
        ],
        "serving local:greeter-demo/greet",
    );
    let upstream = which("wrpc-wasmtime").map(|up| {
        Program::spawn(
            &up,
            &[
                "nats",
                "serve",
                "--nats",
                &nats.url,
                "bench.upstream",
                path_str(components),
            ],
        )
    });
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
    servers.extend(upstream.as_ref().map(Program::pid));
    let cells = rt.block_on(run(
        &args,
        &nats,
        &b,
        &a_nats,
        &a_quic,
        upstream.is_some(),
        &servers,
    ))?;
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
            + args.warmup * cells.len() * w.serves.len();
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
        "calls_per_cell": args.calls,
        "warmup_per_cell": args.warmup,
        "rounds": args.rounds,
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
    args: &Args,
    nats: &NatsServer,
    b: &Sidecar,
    a_nats: &Sidecar,
    a_quic: &Sidecar,
    upstream: bool,
    servers: &[u32],
) -> Result<Vec<Cell>> {
    let (raw_quic, raw_pem) = raw_servers(&nats.url).await?;
    let (server, native_quic, native_pem) = quic_server().await?;
    let invocations =
        witmesh_tests::greeter_server::serve(server.as_ref(), NativeGreeter("Hello")).await?;
    drive("quic", invocations);
    let wrpc_nats = |prefix: &'static str| async move {
        let nats = async_nats::connect(&nats.url).await?;
        anyhow::Ok(wrpc_transport_nats::Client::new(nats, prefix, None).await?)
    };
    let wrpc_quic = |addr: Option<SocketAddr>, pem: Vec<u8>| async move {
        let conn = quic_connect(addr.context("no QUIC address")?, &pem).await?;
        anyhow::Ok(wrpc_transport_quic::Client::from(conn))
    };
    let set = WitSet::load(FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wit/greeter"))?;
    let func = Arc::new(set.func_by_target("local:greeter-demo/greet.greet")?);
    let http = Arc::new(
        HttpCaller::new(&format!(
            "http://{}",
            b.ready.http.context("b serves no HTTP")?
        ))
        .map_err(anyhow::Error::msg)?,
    );
    let mut clients: Vec<(&'static str, Client)> = vec![
        (
            "raw-nats",
            Client::RawNats(async_nats::connect(&nats.url).await?),
        ),
        (
            "native-nats",
            Client::Nats(wrpc_nats("bench.native").await?, false),
        ),
        (
            "witmesh-nats",
            Client::Nats(wrpc_nats("bench.b").await?, false),
        ),
        (
            "two-hops-nats",
            Client::Nats(wrpc_nats("bench.a").await?, true),
        ),
        (
            "raw-quic",
            Client::RawQuic(quic_connect(raw_quic, raw_pem.as_bytes()).await?),
        ),
        (
            "native-quic",
            Client::Quic(
                wrpc_quic(Some(native_quic), native_pem.into_bytes()).await?,
                false,
            ),
        ),
        (
            "witmesh-quic",
            Client::Quic(wrpc_quic(b.ready.quic, b.dev_cert()).await?, false),
        ),
        (
            "two-hops-quic",
            Client::Quic(wrpc_quic(a_quic.ready.quic, a_quic.dev_cert()).await?, true),
        ),
        ("http", Client::Http(http, func)),
    ];
    let _ = a_nats;
    if upstream {
        // Upstream's host prints nothing to wait for: ready when a call succeeds.
        let client = Client::Nats(wrpc_nats("bench.upstream").await?, false);
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.call("ready").await.is_err() {
            ensure!(
                Instant::now() < deadline,
                "wrpc-wasmtime did not serve within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        clients.push(("wrpc-wasmtime", client));
    }
    let mut cells = Vec::new();
    for &payload in &args.payloads {
        for &concurrency in &args.concurrency {
            let t = Instant::now();
            let cell = measure_cell(args, &clients, payload, concurrency, servers).await?;
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

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
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
