//! Two-hop mesh benchmark: what forwarding through witmesh costs against calling a native
//! server directly, measured side by side in one run.
//!
//! One run starts a nats-server and three release sidecars: `b` serves the greeter component
//! (`local:greeter-demo/greet`); `a-nats` and `a-quic` serve the relay component, whose
//! `greet` calls its `greet` import, routed to `b` over NATS and over QUIC respectively. In
//! this process a native `wit-bindgen-wrpc` greeter serves the same interface over both
//! transports. For every transport × payload (the `name` string) × concurrency it measures:
//!
//! - **native**: client → native greeter (the baseline);
//! - **one hop**: client → `b` (witmesh serving the component);
//! - **two hops**: client → `a` (relay component) → `b` (greeter component).
//!
//! Rounds rotate the order of the three targets so they share the machine's noise. Every
//! answer is checked. The two-hop path crosses the network twice where the direct path
//! crosses it once, so the table reports what witmesh adds to each network hop it makes:
//! one hop − native, and (two hops − 2 × native) / 2, at p50 and p99, against the issue's
//! targets (≤ 50 µs and ≤ 200 µs per hop). The raw latencies are in the table too.
//!
//! Usage: `cargo build --release -p witmesh -p witmesh-benches && ./target/release/mesh-bench`
//! (`--calls N`, `--concurrency 1,16,64`, `--payloads 16,1024`, `--transports nats,quic`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use clap::Parser;
use witmesh_benches::measure::{
    self, cpu_time, locate_witmesh, memory_kib, mib, quic_connect, Samples,
};
use witmesh_benches::native::{drive, quic_server};
use witmesh_benches::payload::fmt_size;
use witmesh_tests::greeter_client::local::greeter_demo::greet::greet;
use witmesh_tests::harness::{NatsServer, Sidecar};
use witmesh_tests::native::{serve_greeter, NativeGreeter};
use witmesh_tests::relay_client::witmesh::relay::relay;

/// The per-hop targets, microseconds.
const P50_PER_HOP_TARGET_US: f64 = 50.0;
const P99_PER_HOP_TARGET_US: f64 = 200.0;

const GREET: &str = "local:greeter-demo/greet";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";
const NATIVE_PREFIX: &str = "bench.native";
const B_PREFIX: &str = "bench.b";
const A_PREFIX: &str = "bench.a";

/// Two-hop mesh benchmark: client → A → B against client → native server.
#[derive(Debug, Parser)]
struct Args {
    /// Measured calls per target per cell.
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
    /// Warm-up calls per target per cell, not measured.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Rounds each cell's calls are split into, rotating the targets' order.
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    /// Sizes of the `name` string in bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 1024])]
    payloads: Vec<usize>,
    /// Concurrency levels (worker tasks, each with one call in flight).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    concurrency: Vec<usize>,
    /// Transports, in order.
    #[arg(long, value_delimiter = ',', default_values_t = [Transport::Nats, Transport::Quic])]
    transports: Vec<Transport>,
    /// A single call slower than this aborts the run.
    #[arg(long, default_value_t = 10_000)]
    call_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Transport {
    Nats,
    Quic,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Nats => "nats",
            Transport::Quic => "quic",
        })
    }
}

/// The three paths measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Native,
    OneHop,
    TwoHops,
}

const PATHS: [Path; 3] = [Path::Native, Path::OneHop, Path::TwoHops];

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Native => "native",
            Path::OneHop => "one hop",
            Path::TwoHops => "two hops",
        }
    }
}

/// One long-lived connection to one target, and which function it calls there.
#[derive(Clone)]
enum Client {
    Nats(wrpc_transport_nats::Client, Path),
    Quic(wrpc_transport_quic::Client, Path),
}

impl Client {
    async fn nats(url: &str, prefix: &str, path: Path) -> Result<Self> {
        let nats = async_nats::connect(url)
            .await
            .context("client: cannot connect to NATS")?;
        let wrpc = wrpc_transport_nats::Client::new(nats, prefix, None)
            .await
            .context("client: wRPC over NATS")?;
        Ok(Client::Nats(wrpc, path))
    }

    async fn quic(addr: SocketAddr, pem: &[u8], path: Path) -> Result<Self> {
        let conn = quic_connect(addr, pem).await?;
        Ok(Client::Quic(wrpc_transport_quic::Client::from(conn), path))
    }

    /// `greet(name)` on the greeter, or the relay's `greet`, which forwards it.
    async fn greet(&self, name: &str) -> Result<String> {
        match self {
            Client::Nats(c, Path::TwoHops) => relay::greet(c, None, name).await,
            Client::Nats(c, _) => greet(c, None, name).await,
            Client::Quic(c, Path::TwoHops) => relay::greet(c, (), name).await,
            Client::Quic(c, _) => greet(c, (), name).await,
        }
    }
}

/// A name of `len` bytes.
fn name(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

struct Row {
    transport: Transport,
    payload: usize,
    concurrency: usize,
    samples: [Samples; 3],
}

async fn cell(
    args: &Args,
    transport: Transport,
    size: usize,
    concurrency: usize,
    clients: &[Client; 3],
) -> Result<Row> {
    let name = name(size);
    let timeout = Duration::from_millis(args.call_timeout_ms);
    let label = |p: Path| format!("{transport}/{}/c{concurrency}/{}", fmt_size(size), p.name());
    for (i, p) in PATHS.iter().enumerate() {
        let what = format!("{} warm-up", label(*p));
        greet_batch(&clients[i], &name, concurrency, args.warmup, timeout, &what).await?;
    }
    let mut samples: [Samples; 3] = Default::default();
    let rounds = args.rounds.max(1);
    for r in 0..rounds {
        let n = args.calls / rounds + usize::from(r < args.calls % rounds);
        for k in 0..PATHS.len() {
            let i = (k + r) % PATHS.len();
            let what = label(PATHS[i]);
            let (lat, wall) =
                greet_batch(&clients[i], &name, concurrency, n, timeout, &what).await?;
            samples[i].latencies_ns.extend(lat);
            samples[i].wall += wall;
        }
    }
    Ok(Row {
        transport,
        payload: size,
        concurrency,
        samples,
    })
}

/// `calls` greetings of `name` through `client`, each answer checked.
async fn greet_batch(
    client: &Client,
    name: &str,
    concurrency: usize,
    calls: usize,
    timeout: Duration,
    what: &str,
) -> Result<(Vec<u64>, Duration)> {
    let (client, name) = (client.clone(), name.to_owned());
    let expected = format!("Hello, {name}!");
    measure::batch(concurrency, calls, timeout, what, move || {
        let (client, name, expected) = (client.clone(), name.clone(), expected.clone());
        async move {
            let got = client.greet(&name).await?;
            ensure!(
                got == expected,
                "answered {} bytes, not the greeting",
                got.len()
            );
            Ok(())
        }
    })
    .await
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| transport | payload | concurrency | native p50 µs | one hop p50 µs | two hops p50 µs \
         | added per hop p50 µs (one / two hops) | native p99 µs | one hop p99 µs | two hops p99 µs \
         | added per hop p99 µs (one / two hops) | native calls/s | two hops calls/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let [n, one, two] = &r.samples;
        let (n50, o50, t50) = (
            n.percentile_us(50.0),
            one.percentile_us(50.0),
            two.percentile_us(50.0),
        );
        let (n99, o99, t99) = (
            n.percentile_us(99.0),
            one.percentile_us(99.0),
            two.percentile_us(99.0),
        );
        let (one50, two50) = (o50 - n50, (t50 - 2.0 * n50) / 2.0);
        let (one99, two99) = (o99 - n99, (t99 - 2.0 * n99) / 2.0);
        let (ntp, ttp) = (n.calls_per_sec(), two.calls_per_sec());
        let p50_ok = one50.max(two50) <= P50_PER_HOP_TARGET_US;
        let p99_ok = one99.max(two99) <= P99_PER_HOP_TARGET_US;
        println!(
            "| {} | {} | {} | {n50:.1} | {o50:.1} | {t50:.1} | {one50:+.1} / {two50:+.1} {} \
             | {n99:.1} | {o99:.1} | {t99:.1} | {one99:+.1} / {two99:+.1} {} | {ntp:.0} | {ttp:.0} |",
            r.transport,
            fmt_size(r.payload),
            r.concurrency,
            verdict(p50_ok),
            verdict(p99_ok),
        );
    }
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.calls > 0, "--calls must be positive");
    ensure!(
        args.concurrency.iter().all(|&c| c > 0),
        "concurrency levels must be positive"
    );
    let bin = locate_witmesh()?;
    let started = Instant::now();
    let nats = NatsServer::start();
    let no_discovery = [("WITMESH_MESH__DISCOVERY", "false")];
    let b = Sidecar::start_with_env(
        &[
            "--component",
            path(witmesh_tests::components::greeter()),
            "--component",
            path(witmesh_tests::components::faults()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            B_PREFIX,
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            "b",
        ],
        &no_discovery,
    );
    let b_quic = format!("quic://{}", b.ready.quic.context("b serves no QUIC")?);
    let b_cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let relay = path(witmesh_tests::components::relay()).to_owned();
    let (greet_nats, faults_nats) = (
        format!("{GREET}=nats:{B_PREFIX}"),
        format!("{FAULTS}=nats:{B_PREFIX}"),
    );
    let a_nats = Sidecar::start_with_env(
        &[
            "--component",
            &relay,
            "--nats",
            &nats.url,
            "--nats-prefix",
            A_PREFIX,
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            "a-nats",
            "--route",
            &greet_nats,
            "--route",
            &faults_nats,
        ],
        &no_discovery,
    );
    let (greet_quic, faults_quic) = (format!("{GREET}={b_quic}"), format!("{FAULTS}={b_quic}"));
    let a_quic = Sidecar::start_with_env(
        &[
            "--component",
            &relay,
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            "a-quic",
            "--route",
            &greet_quic,
            "--route",
            &faults_quic,
            "--ca",
            path(&b_cert),
        ],
        &no_discovery,
    );
    eprintln!(
        "mesh-bench: witmesh {}; b {} | a-nats {} | a-quic {}",
        bin.display(),
        b.ready.line,
        a_nats.ready.line,
        a_quic.ready.line
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    rt.block_on(run(&args, &nats, [&b, &a_nats, &a_quic]))?;
    println!("run took {:.1}s", started.elapsed().as_secs_f64());
    for s in [&b, &a_nats, &a_quic] {
        let warnings = s
            .logs()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .count();
        if warnings > 0 {
            eprintln!("mesh-bench: a sidecar logged {warnings} warnings or errors");
        }
    }
    Ok(())
}

async fn run(args: &Args, nats: &NatsServer, sidecars: [&Sidecar; 3]) -> Result<()> {
    let [b, _, a_quic] = sidecars;
    let before: Vec<_> = sidecars
        .iter()
        .map(|s| cpu_time(s.pid()))
        .collect::<Result<_>>()?;
    let _native_nats = serve_greeter(&nats.url, NATIVE_PREFIX, NativeGreeter("Hello")).await?;
    let (server, native_quic, native_pem) = quic_server().await?;
    let invocations =
        witmesh_tests::greeter_server::serve(server.as_ref(), NativeGreeter("Hello")).await?;
    drive("quic", invocations);

    let mut rows = Vec::new();
    for &transport in &args.transports {
        let clients = match transport {
            Transport::Nats => [
                Client::nats(&nats.url, NATIVE_PREFIX, Path::Native).await?,
                Client::nats(&nats.url, B_PREFIX, Path::OneHop).await?,
                Client::nats(&nats.url, A_PREFIX, Path::TwoHops).await?,
            ],
            Transport::Quic => [
                Client::quic(native_quic, native_pem.as_bytes(), Path::Native).await?,
                Client::quic(b.ready.quic.context("b QUIC")?, &b.dev_cert(), Path::OneHop).await?,
                Client::quic(
                    a_quic.ready.quic.context("a-quic QUIC")?,
                    &a_quic.dev_cert(),
                    Path::TwoHops,
                )
                .await?,
            ],
        };
        for &size in &args.payloads {
            for &concurrency in &args.concurrency {
                let t = Instant::now();
                let row = cell(args, transport, size, concurrency, &clients).await?;
                eprintln!(
                    "mesh-bench: {transport} {} c{concurrency}: p50 native {:.1} µs, one hop {:.1} µs, two hops {:.1} µs ({:.1}s)",
                    fmt_size(size),
                    row.samples[0].percentile_us(50.0),
                    row.samples[1].percentile_us(50.0),
                    row.samples[2].percentile_us(50.0),
                    t.elapsed().as_secs_f64()
                );
                rows.push(row);
            }
        }
    }
    println!(
        "witmesh two-hop forwarding: {} calls per target per cell in {} rotating rounds, {} warm-up calls; loopback, {} CPUs",
        args.calls,
        args.rounds.max(1),
        args.warmup,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "added per hop: one hop - native, and (two hops - 2 x native) / 2; targets: ≤ {P50_PER_HOP_TARGET_US} µs at p50, ≤ {P99_PER_HOP_TARGET_US} µs at p99"
    );
    println!();
    print_table(&rows);
    println!();
    let per_cell = args.calls + args.warmup;
    let cells = |t: Transport| rows.iter().filter(|r| r.transport == t).count() * per_cell;
    // b serves the one-hop and the two-hop calls of both transports; each a serves its own.
    let served = [
        2 * rows.len() * per_cell,
        cells(Transport::Nats),
        cells(Transport::Quic),
    ];
    for ((s, name), (cpu0, calls)) in sidecars
        .iter()
        .zip(["b", "a-nats", "a-quic"])
        .zip(before.iter().zip(served))
    {
        let (rss, hwm) = memory_kib(s.pid())?;
        let cpu = cpu_time(s.pid())?.saturating_sub(*cpu0);
        println!(
            "sidecar {name}: VmRSS {}, peak {}; CPU {:.2}s over {calls} calls, {:.0} µs per call",
            mib(rss),
            mib(hwm),
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / calls.max(1) as f64
        );
    }
    Ok(())
}
