//! `witmesh bench`: load any function of any wRPC server (or a witmesh HTTP gateway) with
//! arguments in WAVE or generated from the WIT, and report the latency distribution.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use witmesh_config::HumanDuration;
use witmesh_proto::codec::Limits;
use witmesh_proto::Value;

use super::call_cmd::{failure, params, Connect};
use super::Failure;
use crate::bench::load::{self, Plan, Stop, Work};
use crate::bench::plot;
use crate::bench::report::{self, Setup, Summary};
use crate::client::{CallFailure, Caller, HttpCaller};

/// `witmesh bench`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct BenchArgs {
    #[command(flatten)]
    connect: Connect,
    /// Call through a witmesh HTTP gateway at this URL (`http://HOST:PORT`); needs --wit.
    #[arg(long, value_name = "URL", conflicts_with_all = ["nats", "quic", "via"])]
    http: Option<String>,
    /// Most calls in flight.
    #[arg(long, short = 'c', default_value_t = 1)]
    concurrency: usize,
    /// How many calls to measure (default: run for --duration).
    #[arg(long, short = 'n', conflicts_with = "duration")]
    calls: Option<u64>,
    /// How long to measure (default 10s).
    #[arg(long, short = 'd', value_name = "DURATION")]
    duration: Option<HumanDuration>,
    /// Calls made first and not measured.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Open loop: start this many calls per second whatever the answers do, and count each
    /// call's latency from when it was due (coordinated omission corrected).
    #[arg(long, value_name = "CALLS_PER_SECOND")]
    rate: Option<f64>,
    /// Connections to spread the calls over.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Generate the arguments from the WIT types instead of reading them.
    #[arg(long)]
    gen: bool,
    /// With --gen: the size in bytes of generated strings and lists.
    #[arg(long, value_name = "BYTES", default_value_t = 16)]
    size: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Write the whole latency distribution (HdrHistogram percentile format) to FILE.
    #[arg(long, value_name = "FILE")]
    hist: Option<PathBuf>,
    /// Draw the latency distribution to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print the ratios between two runs' --json summaries, B against A, and run nothing.
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"])]
    compare: Option<Vec<PathBuf>>,
    /// `INSTANCE.FUNC`, e.g. `local:greeter-demo/greet.greet`.
    #[arg(required_unless_present = "compare")]
    target: Option<String>,
    /// One WAVE value per parameter (unless --gen).
    args: Vec<String>,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        status: witmesh_config::EXIT_CONFIG_ERROR as u8,
    }
}

fn read_summary(path: &PathBuf) -> Result<Summary, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::new(format!(
            "`{}` is not a `witmesh bench --json` summary: {e}",
            path.display()
        ))
    })
}

/// Runs `witmesh bench`.
pub(crate) fn run(args: BenchArgs) -> Result<(), Failure> {
    if let Some(files) = &args.compare {
        let (a, b) = (read_summary(&files[0])?, read_summary(&files[1])?);
        print!("{}", report::compare(&a, &b));
        return Ok(());
    }
    if args.concurrency == 0 || args.connections == 0 {
        return Err(usage("--concurrency and --connections must be at least 1"));
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(usage(
            "--rate must be a positive number of calls per second",
        ));
    }
    if args.connect.via.is_some() {
        return Err(usage(
            "bench calls servers directly: use --nats, --quic or --http (a sidecar's gateway)",
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(bench(args))
}

async fn bench(args: BenchArgs) -> Result<(), Failure> {
    let target = args.target.clone().unwrap_or_default();
    let (callers, func, transport) = match &args.http {
        Some(url) => {
            let Some(path) = &args.connect.wit else {
                return Err(usage("--http needs --wit PATH for the function's types"));
            };
            let set = args
                .connect
                .features
                .load(path)
                .map_err(anyhow::Error::from)?;
            let func = set
                .func_by_target(&target)
                .map_err(|e| failure(&CallFailure::unknown(e)))?;
            let callers = (0..args.connections)
                .map(|_| HttpCaller::new(url).map(|h| Caller::Http(Arc::new(h))))
                .collect::<Result<Vec<_>, _>>()
                .map_err(usage)?;
            (callers, func, "http")
        }
        None => {
            let mut callers = Vec::with_capacity(args.connections);
            for _ in 0..args.connections {
                callers.push(args.connect.caller().await?);
            }
            let func = args.connect.func(&callers[0], &target).await?;
            let transport = if args.connect.nats.is_some() {
                "nats"
            } else {
                "quic"
            };
            (callers, func, transport)
        }
    };
    let values: Vec<Value> = if args.gen {
        if !args.args.is_empty() {
            return Err(usage("give either --gen or arguments, not both"));
        }
        func.params
            .iter()
            .map(|t| witmesh_proto::sample::sample(t, args.size))
            .collect()
    } else {
        params(&func, &args.args, false).map_err(|e| failure(&e))?
    };
    let work = Work {
        callers: callers.into(),
        func: Arc::new(func),
        params: values.into(),
    };
    let stop = match (args.calls, args.duration) {
        (Some(n), _) => Stop::Calls(n),
        (None, Some(d)) => Stop::For(d.0),
        (None, None) => Stop::For(Duration::from_secs(10)),
    };
    let plan = Plan {
        stop,
        concurrency: args.concurrency,
        rate: args.rate,
        timeout: args.connect.timeout.0,
        limits: Limits::default(),
    };
    if args.warmup > 0 {
        let warm = Plan {
            stop: Stop::Calls(args.warmup),
            rate: None,
            ..plan.clone()
        };
        load::run(&work, &warm, Arc::default()).await;
    }
    let done = Arc::new(AtomicU64::new(0));
    let progress = (!args.json && std::io::stderr().is_terminal())
        .then(|| tokio::spawn(show_progress(done.clone(), stop)));
    let tally = load::run(&work, &plan, done).await;
    if let Some(p) = progress {
        p.abort();
        eprint!("\r\x1b[2K");
    }
    let summary = Summary::new(
        &Setup {
            target: &target,
            transport,
            concurrency: args.concurrency,
            connections: args.connections,
            rate: args.rate,
            warmup: args.warmup,
        },
        &tally,
    );
    if let Some(path) = &args.hist {
        std::fs::write(path, report::hgrm(&tally))
            .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", path.display())))?;
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "{target} over {transport}, concurrency {}",
            args.concurrency
        );
        plot::plot(&tally, &title, path).map_err(Failure::new)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| Failure::new(e.to_string()))?
        );
    } else {
        print!("{}", summary.text());
    }
    Ok(())
}

/// Rewrites one status line on the terminal every 200 ms.
async fn show_progress(done: Arc<AtomicU64>, stop: Stop) {
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let n = done.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let of = match stop {
            Stop::Calls(total) => format!("{n}/{total} calls"),
            Stop::For(d) => format!("{n} calls, {secs:.0}/{}s", d.as_secs()),
        };
        let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
        eprint!("\r\x1b[2K{of}  {rate:.0} calls/s");
    }
}
