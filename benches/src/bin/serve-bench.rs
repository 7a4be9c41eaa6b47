//! Side-by-side serving benchmark: the every-type echo component served by a `witmesh`
//! sidecar against a native `wit-bindgen-wrpc` server of the same `echo` interface, over NATS
//! and QUIC, on loopback.
//!
//! One run starts a nats-server, a release `witmesh up` serving the every-type component
//! (NATS prefix `bench.witmesh`, QUIC on a free port) and, in this process, a native server
//! (NATS prefix `bench.native`, QUIC on its own port). For every transport × payload ×
//! concurrency it warms both targets up, then measures `--calls` `echo-bytes` calls per target,
//! split into `--rounds` rounds that alternate native and witmesh (ABBA order) so both share the
//! machine's noise. Every result is checked against its input; a wrong answer, an error or a
//! call slower than `--call-timeout-ms` aborts the run.
//!
//! It prints a Markdown table with the targets marked PASS or MISS (p50 overhead
//! ≤ 50 µs over native in every cell, and at concurrency 64 witmesh throughput ≥ 0.8× native),
//! followed by the sidecar's resident memory.
//!
//! Usage: `cargo run --release -p witmesh-benches --bin serve-bench -- [--calls N]`. The
//! sidecar binary is `target/release/witmesh` next to this one unless `WITMESH_BIN` says
//! otherwise; build it first (`cargo build --release -p witmesh`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};
use bytes::Bytes;
use clap::Parser;
use wit_bindgen_wrpc::wrpc_transport::{ResourceBorrow, ResourceOwn};
use witmesh_benches::measure::{
    self, cpu_time, locate_witmesh, memory_kib, mib, quic_connect, Samples,
};
use witmesh_benches::native::{drive, quic_server};
use witmesh_benches::payload::{bytes as payload, fmt_size};
use witmesh_tests::every_type::exports::witmesh::every_type::echo::Handler;
use witmesh_tests::every_type::witmesh::every_type::types::{
    Color, Counter, Everything, Permissions, Point, Shape, TreeNode, WideFlags,
};
use witmesh_tests::every_type_client::witmesh::every_type::echo::echo_bytes;
use witmesh_tests::harness::{NatsServer, Sidecar};

/// The latency target: witmesh's p50 at most this much above native's.
const P50_OVERHEAD_TARGET_US: f64 = 50.0;
/// The throughput target at concurrency 64: witmesh at least this fraction of native.
const THROUGHPUT_RATIO_TARGET: f64 = 0.8;
/// The concurrency the throughput target applies to.
const THROUGHPUT_TARGET_CONCURRENCY: usize = 64;

const WITMESH_PREFIX: &str = "bench.witmesh";
const NATIVE_PREFIX: &str = "bench.native";

/// Side-by-side serving benchmark: witmesh against a native wit-bindgen-wrpc server.
#[derive(Debug, Parser)]
struct Args {
    /// Measured calls per target per cell (transport × payload × concurrency).
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
    /// Warm-up calls per target per cell, not measured.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Rounds each cell's calls are split into, alternating native and witmesh.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Payload sizes in bytes (`list<u8>` through `echo-bytes`).
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 1024])]
    payloads: Vec<usize>,
    /// Concurrency levels (worker tasks, each with one call in flight).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 64])]
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

// ---------------------------------------------------------------------------------------------
// The native server: wit-bindgen-wrpc's generated `serve` with a plain Rust echo handler.

/// Echoes every argument back, as the every-type component does.
#[derive(Clone, Copy)]
struct NativeEcho;

impl<Ctx: Send> Handler<Ctx> for NativeEcho {
    async fn echo_bool(&self, _: Ctx, v: bool) -> Result<bool> {
        Ok(v)
    }
    async fn echo_s8(&self, _: Ctx, v: i8) -> Result<i8> {
        Ok(v)
    }
    async fn echo_s16(&self, _: Ctx, v: i16) -> Result<i16> {
        Ok(v)
    }
    async fn echo_s32(&self, _: Ctx, v: i32) -> Result<i32> {
        Ok(v)
    }
    async fn echo_s64(&self, _: Ctx, v: i64) -> Result<i64> {
        Ok(v)
    }
    async fn echo_u8(&self, _: Ctx, v: u8) -> Result<u8> {
        Ok(v)
    }
    async fn echo_u16(&self, _: Ctx, v: u16) -> Result<u16> {
        Ok(v)
    }
    async fn echo_u32(&self, _: Ctx, v: u32) -> Result<u32> {
        Ok(v)
    }
    async fn echo_u64(&self, _: Ctx, v: u64) -> Result<u64> {
        Ok(v)
    }
    async fn echo_f32(&self, _: Ctx, v: f32) -> Result<f32> {
        Ok(v)
    }
    async fn echo_f64(&self, _: Ctx, v: f64) -> Result<f64> {
        Ok(v)
    }
    async fn echo_char(&self, _: Ctx, v: char) -> Result<char> {
        Ok(v)
    }
    async fn echo_string(&self, _: Ctx, v: String) -> Result<String> {
        Ok(v)
    }
    async fn echo_bytes(&self, _: Ctx, v: Bytes) -> Result<Bytes> {
        Ok(v)
    }
    async fn echo_list(&self, _: Ctx, v: Vec<Point>) -> Result<Vec<Point>> {
        Ok(v)
    }
    async fn echo_record(&self, _: Ctx, v: Point) -> Result<Point> {
        Ok(v)
    }
    async fn echo_tuple(&self, _: Ctx, v: (u8, String, f64)) -> Result<(u8, String, f64)> {
        Ok(v)
    }
    async fn echo_variant(&self, _: Ctx, v: Shape) -> Result<Shape> {
        Ok(v)
    }
    async fn echo_enum(&self, _: Ctx, v: Color) -> Result<Color> {
        Ok(v)
    }
    async fn echo_option(&self, _: Ctx, v: Option<String>) -> Result<Option<String>> {
        Ok(v)
    }
    async fn echo_result(&self, _: Ctx, v: Result<Point, String>) -> Result<Result<Point, String>> {
        Ok(v)
    }
    async fn echo_flags(&self, _: Ctx, v: Permissions) -> Result<Permissions> {
        Ok(v)
    }
    async fn echo_wide_flags(&self, _: Ctx, v: WideFlags) -> Result<WideFlags> {
        Ok(v)
    }
    async fn echo_everything(&self, _: Ctx, v: Everything) -> Result<Everything> {
        Ok(v)
    }
    async fn echo_nested(&self, _: Ctx, v: TreeNode) -> Result<TreeNode> {
        Ok(v)
    }
    async fn echo_many(
        &self,
        _: Ctx,
        a: u32,
        b: String,
        c: Bytes,
        d: Option<bool>,
    ) -> Result<(u32, String, Bytes, Option<bool>)> {
        Ok((a, b, c, d))
    }
    async fn echo_unit(&self, _: Ctx) -> Result<()> {
        Ok(())
    }
    async fn echo_own(&self, _: Ctx, v: ResourceOwn<Counter>) -> Result<ResourceOwn<Counter>> {
        Ok(v)
    }
    async fn echo_borrow(&self, _: Ctx, _: ResourceBorrow<Counter>) -> Result<u64> {
        bail!("the native bench server does not implement `counter`")
    }
}

/// Serves `echo` over NATS under `prefix`; the client must outlive the bench.
async fn native_nats(url: &str, prefix: &str) -> Result<wrpc_transport_nats::Client> {
    let nats = async_nats::connect(url)
        .await
        .context("native server: cannot connect to NATS")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None)
        .await
        .context("native server: wRPC over NATS")?;
    let invocations = witmesh_tests::every_type::serve(&wrpc, NativeEcho)
        .await
        .context("native server: serve over NATS")?;
    drive("nats", invocations);
    nats.flush().await.context("native server: NATS flush")?;
    Ok(wrpc)
}

/// Serves `echo` over QUIC on a free loopback port; returns the address and the certificate PEM.
async fn native_quic() -> Result<(SocketAddr, String)> {
    let (server, addr, pem) = quic_server().await?;
    let invocations = witmesh_tests::every_type::serve(server.as_ref(), NativeEcho)
        .await
        .context("native server: serve over QUIC")?;
    drive("quic", invocations);
    Ok((addr, pem))
}

// ---------------------------------------------------------------------------------------------
// Clients.

/// One long-lived connection to one target.
#[derive(Clone)]
enum Client {
    Nats(wrpc_transport_nats::Client),
    Quic(wrpc_transport_quic::Client),
}

impl Client {
    async fn nats(url: &str, prefix: &str) -> Result<Self> {
        let nats = async_nats::connect(url)
            .await
            .context("client: cannot connect to NATS")?;
        let wrpc = wrpc_transport_nats::Client::new(nats, prefix, None)
            .await
            .context("client: wRPC over NATS")?;
        Ok(Client::Nats(wrpc))
    }

    async fn quic(addr: SocketAddr, pem: &[u8]) -> Result<Self> {
        let conn = quic_connect(addr, pem).await?;
        Ok(Client::Quic(wrpc_transport_quic::Client::from(conn)))
    }

    async fn echo_bytes(&self, v: &Bytes) -> Result<Bytes> {
        match self {
            Client::Nats(c) => echo_bytes(c, None, v).await,
            Client::Quic(c) => echo_bytes(c, (), v).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Native,
    Witmesh,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Native => "native",
            Target::Witmesh => "witmesh",
        }
    }
}

/// `calls` echo calls spread over `concurrency` workers, each with one call in flight; returns
/// the latencies and the wall time. Any error, timeout or wrong answer fails the batch.
async fn batch(
    client: &Client,
    payload: &Bytes,
    concurrency: usize,
    calls: usize,
    timeout: Duration,
    what: &str,
) -> Result<(Vec<u64>, Duration)> {
    let (client, payload) = (client.clone(), payload.clone());
    measure::batch(concurrency, calls, timeout, what, move || {
        let (client, payload) = (client.clone(), payload.clone());
        async move {
            let out = client.echo_bytes(&payload).await?;
            ensure!(
                out == payload,
                "returned {} bytes that differ from the {} sent",
                out.len(),
                payload.len()
            );
            Ok(())
        }
    })
    .await
}

struct Row {
    transport: Transport,
    payload: usize,
    concurrency: usize,
    native: Samples,
    witmesh: Samples,
}

/// Runs one cell: warm-up of both targets, then `rounds` rounds alternating the order (ABBA).
async fn cell(
    args: &Args,
    transport: Transport,
    size: usize,
    concurrency: usize,
    native: &Client,
    witmesh: &Client,
) -> Result<Row> {
    let data = payload(size);
    let timeout = Duration::from_millis(args.call_timeout_ms);
    let label = |t: Target| format!("{transport}/{}/c{concurrency}/{}", fmt_size(size), t.name());
    for (t, client) in [(Target::Native, native), (Target::Witmesh, witmesh)] {
        batch(
            client,
            &data,
            concurrency,
            args.warmup,
            timeout,
            &format!("{} warm-up", label(t)),
        )
        .await?;
    }
    let mut samples = [Samples::default(), Samples::default()];
    let rounds = args.rounds.max(1);
    for r in 0..rounds {
        let n = args.calls / rounds + usize::from(r < args.calls % rounds);
        let order = if r % 2 == 0 {
            [Target::Native, Target::Witmesh]
        } else {
            [Target::Witmesh, Target::Native]
        };
        for t in order {
            let (client, s) = match t {
                Target::Native => (native, &mut samples[0]),
                Target::Witmesh => (witmesh, &mut samples[1]),
            };
            let (lat, wall) = batch(client, &data, concurrency, n, timeout, &label(t)).await?;
            s.latencies_ns.extend(lat);
            s.wall += wall;
        }
    }
    let [native, witmesh] = samples;
    Ok(Row {
        transport,
        payload: size,
        concurrency,
        native,
        witmesh,
    })
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
        "| transport | payload | concurrency | native p50 µs | witmesh p50 µs | overhead p50 µs \
         | native p99 µs | witmesh p99 µs | native calls/s | witmesh calls/s | throughput ratio |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let (n50, w50) = (r.native.percentile_us(50.0), r.witmesh.percentile_us(50.0));
        let (n99, w99) = (r.native.percentile_us(99.0), r.witmesh.percentile_us(99.0));
        let (ntp, wtp) = (r.native.calls_per_sec(), r.witmesh.calls_per_sec());
        let overhead = w50 - n50;
        let ratio = wtp / ntp;
        let ratio_cell = if r.concurrency == THROUGHPUT_TARGET_CONCURRENCY {
            format!("{ratio:.2}x {}", verdict(ratio >= THROUGHPUT_RATIO_TARGET))
        } else {
            format!("{ratio:.2}x")
        };
        println!(
            "| {} | {} | {} | {n50:.1} | {w50:.1} | {overhead:+.1} {} | {n99:.1} | {w99:.1} \
             | {ntp:.0} | {wtp:.0} | {ratio_cell} |",
            r.transport,
            fmt_size(r.payload),
            r.concurrency,
            verdict(overhead <= P50_OVERHEAD_TARGET_US),
        );
    }
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
    let component = witmesh_tests::components::every_type();
    let component_arg = component.to_string_lossy().into_owned();
    let sidecar = Sidecar::start(&[
        "--component",
        &component_arg,
        "--nats",
        &nats.url,
        "--nats-prefix",
        WITMESH_PREFIX,
        "--quic",
        "127.0.0.1:0",
    ]);
    eprintln!(
        "serve-bench: witmesh {} (pid {}), every-type component {}",
        bin.display(),
        sidecar.pid(),
        component.display()
    );
    eprintln!("serve-bench: sidecar ready: {}", sidecar.ready.line);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    rt.block_on(run(&args, &nats, &sidecar))?;
    println!("run took {:.1}s", started.elapsed().as_secs_f64());

    let logs = sidecar.logs();
    let problems: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    if !problems.is_empty() {
        eprintln!(
            "serve-bench: the sidecar logged {} warnings or errors; the first:",
            problems.len()
        );
        for l in problems.iter().take(5) {
            eprintln!("  {l}");
        }
    }
    Ok(())
}

async fn run(args: &Args, nats: &NatsServer, sidecar: &Sidecar) -> Result<()> {
    let sidecar_quic = sidecar
        .ready
        .quic
        .context("the sidecar announced no QUIC address")?;
    let sidecar_pem = sidecar.dev_cert();
    let (startup_rss, _) = memory_kib(sidecar.pid())?;
    let startup_cpu = cpu_time(sidecar.pid())?;

    let _native_nats = native_nats(&nats.url, NATIVE_PREFIX).await?;
    let (native_quic_addr, native_pem) = native_quic().await?;

    eprintln!(
        "serve-bench: native QUIC on {native_quic_addr}; NATS {} (prefixes {NATIVE_PREFIX}, {WITMESH_PREFIX})",
        nats.url
    );

    let mut rows = Vec::new();
    for &transport in &args.transports {
        // Connect right before use, one long-lived connection per target.
        let (native, witmesh) = match transport {
            Transport::Nats => (
                Client::nats(&nats.url, NATIVE_PREFIX).await?,
                Client::nats(&nats.url, WITMESH_PREFIX).await?,
            ),
            Transport::Quic => (
                Client::quic(native_quic_addr, native_pem.as_bytes()).await?,
                Client::quic(sidecar_quic, &sidecar_pem).await?,
            ),
        };
        for &size in &args.payloads {
            for &concurrency in &args.concurrency {
                let t = Instant::now();
                let row = cell(args, transport, size, concurrency, &native, &witmesh).await?;
                eprintln!(
                    "serve-bench: {transport} {} c{concurrency}: native p50 {:.1} µs, witmesh p50 {:.1} µs ({:.1}s)",
                    fmt_size(size),
                    row.native.percentile_us(50.0),
                    row.witmesh.percentile_us(50.0),
                    t.elapsed().as_secs_f64()
                );
                rows.push(row);
            }
        }
    }
    let (rss, hwm) = memory_kib(sidecar.pid())?;
    let sidecar_cpu = cpu_time(sidecar.pid())?.saturating_sub(startup_cpu);
    let witmesh_calls = rows.len() * (args.calls + args.warmup);

    println!(
        "witmesh serving overhead: {} calls per target per cell in {} alternating rounds, {} warm-up calls; loopback, {} CPUs",
        args.calls,
        args.rounds.max(1),
        args.warmup,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "targets: p50 overhead ≤ {P50_OVERHEAD_TARGET_US} µs over native; throughput at concurrency {THROUGHPUT_TARGET_CONCURRENCY} ≥ {THROUGHPUT_RATIO_TARGET}x native"
    );
    println!();
    print_table(&rows);
    println!();
    println!(
        "sidecar resident memory (VmRSS) after start-up: {}",
        mib(startup_rss)
    );
    println!(
        "sidecar resident memory (VmRSS) after the run: {}",
        mib(rss)
    );
    println!("sidecar peak resident memory (VmHWM): {}", mib(hwm));
    println!(
        "sidecar CPU time (user+sys) during the run: {:.2}s over {witmesh_calls} calls (warm-up included), {:.0} µs per call",
        sidecar_cpu.as_secs_f64(),
        sidecar_cpu.as_secs_f64() * 1e6 / witmesh_calls.max(1) as f64
    );
    Ok(())
}
