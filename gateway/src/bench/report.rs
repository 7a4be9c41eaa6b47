//! What a run reports: a summary (calls, errors by class, calls per second, latency
//! percentiles from the HDR histogram) as text or JSON, the whole distribution in
//! HdrHistogram's percentile format, and the ratios between two runs' JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::load::Tally;

/// Latency figures of a run, µs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Fastest call.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest call.
    pub max: u64,
}

/// One run, as `--json` prints it and `--compare` reads it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// `INSTANCE.FUNC`.
    pub target: String,
    /// `nats`, `quic` or `http`.
    pub transport: String,
    /// Most calls in flight.
    pub concurrency: usize,
    /// Connections used.
    pub connections: usize,
    /// The open-loop rate asked for, calls per second (`None`: closed-loop).
    pub rate: Option<f64>,
    /// Warm-up calls made before measuring (not counted).
    pub warmup: u64,
    /// Calls measured.
    pub calls: u64,
    /// Calls that returned results.
    pub ok: u64,
    /// Failed calls by class.
    pub errors: BTreeMap<String, u64>,
    /// Length of the measured run, seconds.
    pub seconds: f64,
    /// Calls per second over the run.
    pub calls_per_second: f64,
    /// Latency of all measured calls, µs.
    pub latency_us: Latency,
}

/// How the run was set up, for the summary.
pub struct Setup<'a> {
    /// `INSTANCE.FUNC`.
    pub target: &'a str,
    /// The transport's name.
    pub transport: &'a str,
    /// Most calls in flight.
    pub concurrency: usize,
    /// Connections used.
    pub connections: usize,
    /// Open-loop rate.
    pub rate: Option<f64>,
    /// Warm-up calls.
    pub warmup: u64,
}

impl Summary {
    /// The summary of `tally`.
    pub fn new(setup: &Setup<'_>, tally: &Tally) -> Self {
        let h = &tally.latency;
        let calls = tally.calls();
        let seconds = tally.elapsed.as_secs_f64();
        let empty = h.is_empty();
        let at = |q: f64| if empty { 0 } else { h.value_at_quantile(q) };
        Summary {
            target: setup.target.to_owned(),
            transport: setup.transport.to_owned(),
            concurrency: setup.concurrency,
            connections: setup.connections,
            rate: setup.rate,
            warmup: setup.warmup,
            calls,
            ok: tally.ok,
            errors: tally.errors.clone(),
            seconds,
            calls_per_second: if seconds > 0.0 {
                calls as f64 / seconds
            } else {
                0.0
            },
            latency_us: Latency {
                min: if empty { 0 } else { h.min() },
                mean: if empty { 0.0 } else { h.mean() },
                p50: at(0.5),
                p90: at(0.9),
                p99: at(0.99),
                p999: at(0.999),
                max: if empty { 0 } else { h.max() },
            },
        }
    }

    /// The summary as a person reads it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mode = self.rate.map_or_else(
            || format!("closed loop, concurrency {}", self.concurrency),
            |r| {
                format!(
                    "open loop at {r} calls/s, at most {} in flight",
                    self.concurrency
                )
            },
        );
        let _ = writeln!(
            out,
            "{} over {} ({mode}, {} connection(s))",
            self.target, self.transport, self.connections
        );
        let _ = writeln!(
            out,
            "calls      {} in {:.2}s, {:.1} calls/s, {} ok, {} failed",
            self.calls,
            self.seconds,
            self.calls_per_second,
            self.ok,
            self.calls.saturating_sub(self.ok)
        );
        for (class, n) in &self.errors {
            let _ = writeln!(out, "  {class:<20} {n}");
        }
        let l = &self.latency_us;
        let _ = writeln!(
            out,
            "latency    min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {})",
            us(l.min as f64),
            us(l.p50 as f64),
            us(l.p90 as f64),
            us(l.p99 as f64),
            us(l.p999 as f64),
            us(l.max as f64),
            us(l.mean)
        );
        out
    }
}

/// A duration given in µs, in the unit that reads best.
pub fn us(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2}s", v / 1_000_000.0)
    } else if v >= 1_000.0 {
        format!("{:.2}ms", v / 1_000.0)
    } else {
        format!("{v:.0}µs")
    }
}

/// The distribution in HdrHistogram's percentile text format (`.hgrm`): value (ms),
/// percentile, total count, 1/(1-percentile).
pub fn hgrm(tally: &Tally) -> String {
    let h = &tally.latency;
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if h.is_empty() {
        return out;
    }
    for v in h.iter_quantiles(2) {
        let p = v.quantile_iterated_to();
        let inverse = if p < 1.0 {
            format!("{:>14.2}", 1.0 / (1.0 - p))
        } else {
            format!("{:>14}", "")
        };
        let _ = writeln!(
            out,
            "{:>12.3} {:>14.12} {:>10} {inverse}",
            v.value_iterated_to() as f64 / 1000.0,
            p,
            v.count_since_last_iteration()
        );
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        h.max() as f64 / 1000.0,
        h.len()
    );
    out
}

/// How `b` compares with `a`: each figure of both and the ratio b/a.
pub fn compare(a: &Summary, b: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<14} {:>14} {:>14} {:>8}", "", "A", "B", "B/A");
    let row = |out: &mut String, name: &str, x: f64, y: f64, show: &dyn Fn(f64) -> String| {
        let ratio = if x > 0.0 {
            format!("{:.2}x", y / x)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(out, "{name:<14} {:>14} {:>14} {ratio:>8}", show(x), show(y));
    };
    let count = |v: f64| format!("{v:.0}");
    let rate = |v: f64| format!("{v:.1}");
    row(&mut out, "calls", a.calls as f64, b.calls as f64, &count);
    row(
        &mut out,
        "failed",
        a.calls.saturating_sub(a.ok) as f64,
        b.calls.saturating_sub(b.ok) as f64,
        &count,
    );
    row(
        &mut out,
        "calls/s",
        a.calls_per_second,
        b.calls_per_second,
        &rate,
    );
    let (la, lb) = (&a.latency_us, &b.latency_us);
    for (name, x, y) in [
        ("min", la.min, lb.min),
        ("p50", la.p50, lb.p50),
        ("p90", la.p90, lb.p90),
        ("p99", la.p99, lb.p99),
        ("p99.9", la.p999, lb.p999),
        ("max", la.max, lb.max),
    ] {
        row(&mut out, name, x as f64, y as f64, &|v| us(v));
    }
    row(&mut out, "mean", la.mean, lb.mean, &|v| us(v));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tally(values: &[u64]) -> Tally {
        let mut t = Tally::new();
        for v in values {
            t.latency.record(*v).unwrap();
        }
        t.ok = values.len() as u64;
        t.elapsed = Duration::from_secs(2);
        t
    }

    fn setup() -> Setup<'static> {
        Setup {
            target: "a:b/c.f",
            transport: "nats",
            concurrency: 1,
            connections: 1,
            rate: None,
            warmup: 0,
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let values: Vec<u64> = (1..=1000).collect();
        let s = Summary::new(&setup(), &tally(&values));
        assert_eq!(
            (s.calls, s.ok, s.latency_us.min, s.latency_us.max),
            (1000, 1000, 1, 1000)
        );
        assert_eq!(s.latency_us.p50, 500);
        assert_eq!(s.latency_us.p99, 990);
        assert!((s.calls_per_second - 500.0).abs() < 1e-9);
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(hgrm(&tally(&values)).contains("Total count    =         1000"));
    }

    #[test]
    fn compare_gives_ratios() {
        let a = Summary::new(&setup(), &tally(&[100; 10]));
        let b = Summary::new(&setup(), &tally(&[150; 10]));
        let text = compare(&a, &b);
        let p50 = text.lines().find(|l| l.starts_with("p50")).unwrap();
        assert!(p50.ends_with("1.50x"), "{text}");
    }
}
