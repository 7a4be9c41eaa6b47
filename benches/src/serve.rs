//! `side-by-side --serve` (formerly the `serve-bench` binary): the every-type echo component
//! served by a `witmesh` sidecar against a native `wit-bindgen-wrpc` server of the same `echo`
//! interface, over NATS and QUIC, on loopback.
//!
//! One run starts a nats-server, a `witmesh up` serving the every-type component (NATS prefix
//! [`WITMESH_PREFIX`], QUIC on a free port) and, in this process, a native server (NATS prefix
//! [`NATIVE_PREFIX`], QUIC on its own port). For every transport × payload × concurrency it
//! warms both targets up, then measures `echo-bytes` calls per target in rounds that alternate
//! native and witmesh (ABBA order) so both share the machine's noise. Every result is checked
//! against its input; a wrong answer, an error or a call slower than the timeout aborts the
//! run.
//!
//! It prints a Markdown table with the targets marked PASS or MISS (p50 overhead
//! ≤ 50 µs over native in every cell, and at concurrency 64 witmesh throughput ≥ 0.8× native),
//! followed by the sidecar's resident memory and CPU time.

use std::time::Instant;

use anyhow::{Context as _, Result};
use witmesh_tests::harness::{NatsServer, Sidecar};

use crate::client::{Call, Client, Transport};
use crate::measure::{cpu_time, measure_cell, memory_kib, mib, Cell, Plan};
use crate::native;
use crate::payload::{fmt_size, NATIVE_PREFIX, WITMESH_PREFIX};
use crate::sidecar::echo_sidecar;

/// The latency target: witmesh's p50 at most this much above native's.
const P50_OVERHEAD_TARGET_US: f64 = 50.0;
/// The throughput target at concurrency 64: witmesh at least this fraction of native.
const THROUGHPUT_RATIO_TARGET: f64 = 0.8;
/// The concurrency the throughput target applies to.
const THROUGHPUT_TARGET_CONCURRENCY: usize = 64;

/// What one `--serve` run measures.
#[derive(Debug, Clone)]
pub struct Options {
    /// Calls per target per cell, and the call timeout.
    pub plan: Plan,
    /// Payload sizes in bytes (`list<u8>` through `echo-bytes`).
    pub payloads: Vec<usize>,
    /// Concurrency levels.
    pub concurrency: Vec<usize>,
    /// Transports, in order.
    pub transports: Vec<Transport>,
    /// What the payload travels as: bare (`echo-bytes`), inside a record (`echo-blob`), or both.
    pub shapes: Vec<Shape>,
}

/// How the measured bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// A bare `list<u8>` through `echo-bytes`.
    Bytes,
    /// The `list<u8>` inside the `blob` record, through `echo-blob`.
    Record,
}

impl Shape {
    fn call(self) -> Call {
        match self {
            Shape::Bytes => Call::EchoBytes,
            Shape::Record => Call::EchoBlob,
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shape::Bytes => "bytes",
            Shape::Record => "record",
        })
    }
}

/// The two targets' path names over `t`.
fn paths(t: Transport) -> [&'static str; 2] {
    match t {
        Transport::Nats => ["native-nats", "witmesh-nats"],
        Transport::Quic => ["native-quic", "witmesh-quic"],
    }
}

/// Runs the serving comparison and prints its report.
pub fn run(opts: &Options) -> Result<()> {
    let bin = crate::measure::locate_witmesh()?;
    let started = Instant::now();
    let nats = NatsServer::start();
    let sidecar = echo_sidecar(&nats);
    eprintln!(
        "side-by-side --serve: witmesh {} (pid {}), every-type component {}",
        bin.display(),
        sidecar.pid(),
        witmesh_tests::components::every_type().display()
    );
    eprintln!(
        "side-by-side --serve: sidecar ready: {}",
        sidecar.ready.line
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    // The generated `serve` of all of `echo`'s functions is one large future: unoptimised, it
    // overflows the main thread's 8 MiB stack (`serve-bench` did, in a debug build), so the
    // measurement runs on a thread with room for it.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("measure".into())
            .stack_size(64 << 20)
            .spawn_scoped(scope, || rt.block_on(measure(opts, &nats, &sidecar)))
            .context("cannot start the measuring thread")?
            .join()
            .map_err(|_| anyhow::anyhow!("the measuring thread panicked"))?
    })?;
    println!("run took {:.1}s", started.elapsed().as_secs_f64());

    let logs = sidecar.logs();
    let problems: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    if !problems.is_empty() {
        eprintln!(
            "side-by-side --serve: the sidecar logged {} warnings or errors; the first:",
            problems.len()
        );
        for l in problems.iter().take(5) {
            eprintln!("  {l}");
        }
    }
    Ok(())
}

async fn measure(opts: &Options, nats: &NatsServer, sidecar: &Sidecar) -> Result<()> {
    let sidecar_pem = sidecar.dev_cert();
    let (startup_rss, _) = memory_kib(sidecar.pid())?;
    let startup_cpu = cpu_time(sidecar.pid())?;

    let _native_nats = native::echo_nats(&nats.url, NATIVE_PREFIX).await?;
    let (native_quic, native_pem) = native::echo_quic().await?;
    eprintln!(
        "side-by-side --serve: native QUIC on {native_quic}; NATS {} (prefixes {NATIVE_PREFIX}, {WITMESH_PREFIX})",
        nats.url
    );

    let mut rows = Vec::new();
    for &transport in &opts.transports {
        for &shape in &opts.shapes {
            let call = shape.call();
            // Connect right before use, one long-lived connection per target.
            let (native, witmesh) = match transport {
                Transport::Nats => (
                    Client::nats(&nats.url, NATIVE_PREFIX, call).await?,
                    Client::nats(&nats.url, WITMESH_PREFIX, call).await?,
                ),
                Transport::Quic => (
                    Client::quic(Some(native_quic), native_pem.as_bytes(), call).await?,
                    Client::quic(sidecar.ready.quic, &sidecar_pem, call).await?,
                ),
            };
            let [n, w] = paths(transport);
            let clients = [(n, native), (w, witmesh)];
            for &size in &opts.payloads {
                for &concurrency in &opts.concurrency {
                    let t = Instant::now();
                    let cell =
                        measure_cell(&opts.plan, &clients, size, concurrency, &[sidecar.pid()])
                            .await?;
                    eprintln!(
                        "side-by-side --serve: {transport} {shape} {} c{concurrency}: native p50 {:.1} µs, witmesh p50 {:.1} µs ({:.1}s)",
                        fmt_size(size),
                        cell.samples[n].percentile_us(50.0),
                        cell.samples[w].percentile_us(50.0),
                        t.elapsed().as_secs_f64()
                    );
                    rows.push(Row {
                        transport,
                        shape,
                        cell,
                    });
                }
            }
        }
    }
    let (rss, hwm) = memory_kib(sidecar.pid())?;
    let sidecar_cpu = cpu_time(sidecar.pid())?.saturating_sub(startup_cpu);
    let witmesh_calls = rows.len() * (opts.plan.calls + opts.plan.warmup);

    println!(
        "witmesh serving overhead: {} calls per target per cell in {} alternating rounds, {} warm-up calls; loopback, {} CPUs",
        opts.plan.calls,
        opts.plan.rounds.max(1),
        opts.plan.warmup,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "targets: p50 overhead ≤ {P50_OVERHEAD_TARGET_US} µs over native; throughput at concurrency {THROUGHPUT_TARGET_CONCURRENCY} ≥ {THROUGHPUT_RATIO_TARGET}x native"
    );
    println!();
    print_table(&rows);
    println!();
    print_record_cost(&rows);
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

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// One measured cell of one transport and shape.
struct Row {
    transport: Transport,
    shape: Shape,
    cell: Cell,
}

fn print_table(rows: &[Row]) {
    println!(
        "| transport | shape | payload | concurrency | native p50 µs | witmesh p50 µs | overhead p50 µs \
         | native p99 µs | witmesh p99 µs | native calls/s | witmesh calls/s | throughput ratio |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for Row {
        transport,
        shape,
        cell: c,
    } in rows
    {
        let [n, w] = paths(*transport);
        let (native, witmesh) = (&c.samples[n], &c.samples[w]);
        let (n50, w50) = (native.percentile_us(50.0), witmesh.percentile_us(50.0));
        let (n99, w99) = (native.percentile_us(99.0), witmesh.percentile_us(99.0));
        let (ntp, wtp) = (native.calls_per_sec(), witmesh.calls_per_sec());
        let overhead = w50 - n50;
        let ratio = wtp / ntp;
        let ratio_cell = if c.concurrency == THROUGHPUT_TARGET_CONCURRENCY {
            format!("{ratio:.2}x {}", verdict(ratio >= THROUGHPUT_RATIO_TARGET))
        } else {
            format!("{ratio:.2}x")
        };
        println!(
            "| {transport} | {shape} | {} | {} | {n50:.1} | {w50:.1} | {overhead:+.1} {} | {n99:.1} | {w99:.1} \
             | {ntp:.0} | {wtp:.0} | {ratio_cell} |",
            fmt_size(c.payload),
            c.concurrency,
            verdict(overhead <= P50_OVERHEAD_TARGET_US),
        );
    }
}

/// The record target: witmesh's calls/s with the bytes inside a record at least this
/// fraction of its calls/s with the bare list (a record call within 1.2x of the bare one).
const RECORD_RATIO_TARGET: f64 = 1.0 / 1.2;

/// For every cell measured in both shapes: witmesh's record throughput against its bare-list
/// throughput (and native's, for scale).
fn print_record_cost(rows: &[Row]) {
    let mut printed = false;
    for bare in rows.iter().filter(|r| r.shape == Shape::Bytes) {
        let Some(record) = rows.iter().find(|r| {
            r.shape == Shape::Record
                && r.transport == bare.transport
                && r.cell.payload == bare.cell.payload
                && r.cell.concurrency == bare.cell.concurrency
        }) else {
            continue;
        };
        if !printed {
            println!("record vs bare list (calls/s of echo-blob over echo-bytes, target for witmesh ≥ {RECORD_RATIO_TARGET:.2}):");
            printed = true;
        }
        let [n, w] = paths(bare.transport);
        let ratio = |path: &str| {
            record.cell.samples[path].calls_per_sec() / bare.cell.samples[path].calls_per_sec()
        };
        let wr = ratio(w);
        println!(
            "  {} {} c{}: witmesh {wr:.2} {}, native {:.2}",
            bare.transport,
            fmt_size(bare.cell.payload),
            bare.cell.concurrency,
            verdict(wr >= RECORD_RATIO_TARGET),
            ratio(n)
        );
    }
}
