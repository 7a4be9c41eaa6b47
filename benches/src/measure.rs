//! Measuring: latency samples, cells of rotating rounds over every path, and the memory and
//! CPU time of a server process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context as _, Result};

use crate::client::Client;
use crate::payload::{fmt_size, Payload};

/// What one target produced in one cell: every call's latency and the wall time of the
/// measured batches.
#[derive(Default)]
pub struct Samples {
    /// Every call's latency, nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Wall time of the measured batches.
    pub wall: Duration,
}

impl Samples {
    /// The `p`th percentile latency (nearest rank), microseconds.
    pub fn percentile_us(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        // Nearest rank.
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, sorted.len()) - 1;
        sorted[idx] as f64 / 1e3
    }

    /// Calls per second of wall time.
    pub fn calls_per_sec(&self) -> f64 {
        self.latencies_ns.len() as f64 / self.wall.as_secs_f64()
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// User plus system CPU time a process has used so far (`/proc/<pid>/stat`).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it start with the state (field 3).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .context("malformed /proc/<pid>/stat")
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state.
    let total = ticks(11)? + ticks(12)?;
    let hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&hz| hz > 0)
        .unwrap_or(100);
    Ok(Duration::from_secs_f64(total as f64 / hz as f64))
}

/// KiB as `12.3 MiB`.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Points the harness at the release `witmesh` next to this binary unless `WITMESH_BIN` is
/// set (the harness assumes a test binary in `target/<profile>/deps`).
pub fn locate_witmesh() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("WITMESH_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("no current exe")?;
    let dir = exe.parent().context("current exe has no directory")?;
    let bin = dir.join("witmesh");
    ensure!(
        bin.is_file(),
        "{} is missing: build it first (cargo build --release -p witmesh) or set WITMESH_BIN",
        bin.display()
    );
    // Edition 2021, before any other thread exists: the runtime starts afterwards.
    std::env::set_var("WITMESH_BIN", &bin);
    Ok(bin)
}

/// How many calls a cell makes on each path, and how long one call may take.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Measured calls per path.
    pub calls: usize,
    /// Warm-up calls per path, not measured.
    pub warmup: usize,
    /// Rounds the measured calls are split into, rotating the paths' order.
    pub rounds: usize,
    /// A call slower than this fails the run.
    pub timeout: Duration,
}

/// Every path's samples in one cell (payload × concurrency), and the CPU time the
/// out-of-process servers spent on each path's measured calls.
pub struct Cell {
    /// The payload size, bytes.
    pub payload: usize,
    /// Worker tasks, each with one call in flight.
    pub concurrency: usize,
    /// Each path's latencies and wall time.
    pub samples: BTreeMap<&'static str, Samples>,
    /// CPU time of the watched servers during each path's measured calls.
    pub server_cpu: BTreeMap<&'static str, Duration>,
}

/// Total CPU time of `pids`' threads so far, to the nanosecond (`/proc/PID/task/*/schedstat`;
/// the clock-tick counts of `/proc/PID/stat` are too coarse for one batch).
#[must_use]
pub fn cpu_of(pids: &[u32]) -> Duration {
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

/// One cell: each path warmed up, then `plan.rounds` rounds of its measured calls, the paths
/// taking turns in an order that rotates every round (with two paths: ABBA), so every path
/// shares the machine's noise. The paths run one at a time, so what `servers` spend meanwhile
/// is that path's.
pub async fn measure_cell(
    plan: &Plan,
    clients: &[(&'static str, Client)],
    payload: usize,
    concurrency: usize,
    servers: &[u32],
) -> Result<Cell> {
    let p = Payload::new(payload);
    let label = |path: &str| format!("{path}/{}/c{concurrency}", fmt_size(payload));
    for (path, c) in clients {
        c.batch(&p, concurrency, plan.warmup, plan.timeout, &label(path))
            .await?;
    }
    let mut samples: BTreeMap<&'static str, Samples> = BTreeMap::new();
    let mut server_cpu: BTreeMap<&'static str, Duration> = BTreeMap::new();
    let rounds = plan.rounds.max(1);
    for r in 0..rounds {
        let n = plan.calls / rounds + usize::from(r < plan.calls % rounds);
        for k in 0..clients.len() {
            let (path, c) = &clients[(k + r) % clients.len()];
            let cpu0 = cpu_of(servers);
            let (lat, wall) = c
                .batch(&p, concurrency, n, plan.timeout, &label(path))
                .await?;
            *server_cpu.entry(*path).or_default() += cpu_of(servers).saturating_sub(cpu0);
            let s = samples.entry(*path).or_default();
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
