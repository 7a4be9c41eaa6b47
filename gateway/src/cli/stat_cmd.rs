//! `witmesh stat`: golden metrics per WIT instance and function (success rate, calls per
//! second, p50/p95/p99 latency) over a window, read from the `/metrics` of a sidecar's admin
//! listener (and, with `--peers`, of every peer that announced one), like `linkerd viz stat`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use witmesh_config::HumanDuration;

use super::Failure;
use crate::admin::client;

/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// `witmesh stat`.
#[derive(Debug, Args)]
pub struct StatArgs {
    /// The sidecar's admin listener (`admin=` in its ready line).
    #[arg(long, value_name = "ADDR", default_value_t = witmesh_config::DEFAULT_ADMIN_LISTEN)]
    admin: SocketAddr,
    /// The window the rates and latencies cover; `0s` reports everything since start.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    window: HumanDuration,
    /// Also read every peer that announced an admin listener.
    #[arg(long)]
    peers: bool,
    /// Print a new table every window until interrupted.
    #[arg(long)]
    watch: bool,
}

/// What one (instance, function, direction) did: requests, successes, histogram buckets.
#[derive(Clone, Debug, Default, PartialEq)]
struct Totals {
    requests: f64,
    ok: f64,
    /// Upper bound (seconds) → cumulative count.
    buckets: BTreeMap<Bound, f64>,
}

/// A bucket's upper bound, ordered (`+Inf` last).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bound(f64);

impl Eq for Bound {}

impl PartialOrd for Bound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

type Key = (String, String, String);

/// The request totals in a `/metrics` text, by (instance, function, direction).
fn parse(text: &str) -> BTreeMap<Key, Totals> {
    let mut out: BTreeMap<Key, Totals> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        let labels: BTreeMap<&str, &str> = labels
            .trim_end_matches('}')
            .split("\",")
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        let key = (
            labels
                .get("instance")
                .copied()
                .unwrap_or_default()
                .to_owned(),
            labels
                .get("function")
                .copied()
                .unwrap_or_default()
                .to_owned(),
            labels
                .get("direction")
                .copied()
                .unwrap_or_default()
                .to_owned(),
        );
        match name {
            "witmesh_requests_total" => {
                let t = out.entry(key).or_default();
                t.requests += value;
                if labels.get("outcome") == Some(&"ok") {
                    t.ok += value;
                }
            }
            "witmesh_request_duration_seconds_bucket" => {
                let le = match labels.get("le").copied() {
                    Some("+Inf") => f64::INFINITY,
                    Some(v) => v.parse().unwrap_or(f64::INFINITY),
                    None => continue,
                };
                *out.entry(key)
                    .or_default()
                    .buckets
                    .entry(Bound(le))
                    .or_default() += value;
            }
            _ => {}
        }
    }
    out
}

/// `later - earlier`, per key.
fn delta(later: &BTreeMap<Key, Totals>, earlier: &BTreeMap<Key, Totals>) -> BTreeMap<Key, Totals> {
    later
        .iter()
        .map(|(k, t)| {
            let e = earlier.get(k).cloned().unwrap_or_default();
            let buckets = t
                .buckets
                .iter()
                .map(|(b, c)| (*b, c - e.buckets.get(b).copied().unwrap_or(0.0)))
                .collect();
            (
                k.clone(),
                Totals {
                    requests: t.requests - e.requests,
                    ok: t.ok - e.ok,
                    buckets,
                },
            )
        })
        .collect()
}

/// The `q` quantile of cumulative `buckets`, interpolated linearly inside its bucket (as
/// PromQL's `histogram_quantile` does); `None` without observations.
fn quantile(buckets: &BTreeMap<Bound, f64>, q: f64) -> Option<f64> {
    let total = *buckets.values().last()?;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for (Bound(le), count) in buckets {
        if *count >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let width = count - lower.1;
            let frac = if width > 0.0 {
                (rank - lower.1) / width
            } else {
                1.0
            };
            return Some(lower.0 + (le - lower.0) * frac);
        }
        lower = (*le, *count);
    }
    Some(lower.0)
}

fn latency(s: Option<f64>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) if s < 0.001 => format!("{:.0}µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.1}ms", s * 1e3),
        Some(s) => format!("{s:.2}s"),
    }
}

/// The table for `node`'s totals over `window` (`None`: since start).
fn render(rows: &[(String, BTreeMap<Key, Totals>)], window: Option<Duration>) -> String {
    let mut table = vec![[
        "NODE",
        "INSTANCE",
        "FUNCTION",
        "DIRECTION",
        "SUCCESS",
        "RPS",
        "REQUESTS",
        "P50",
        "P95",
        "P99",
    ]
    .map(str::to_owned)];
    for (node, totals) in rows {
        for ((instance, function, direction), t) in totals {
            if t.requests <= 0.0 {
                continue;
            }
            let rps = window.map_or("-".to_owned(), |w| {
                format!("{:.1}", t.requests / w.as_secs_f64().max(1e-9))
            });
            table.push([
                node.clone(),
                instance.clone(),
                function.clone(),
                direction.clone(),
                format!("{:.1}%", 100.0 * t.ok / t.requests),
                rps,
                format!("{:.0}", t.requests),
                latency(quantile(&t.buckets, 0.5)),
                latency(quantile(&t.buckets, 0.95)),
                latency(quantile(&t.buckets, 0.99)),
            ]);
        }
    }
    let mut widths = [0usize; 10];
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            let _ = write!(line, "{c:<width$}  ", width = widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

async fn scrape(addr: &str) -> Result<BTreeMap<Key, Totals>, Failure> {
    let body = client::get(addr, "/metrics", SCRAPE_TIMEOUT)
        .await
        .map_err(Failure::new)?;
    Ok(parse(&String::from_utf8_lossy(&body)))
}

/// The admin listeners to read: this sidecar's, and with `peers` those its peers announced.
async fn targets(args: &StatArgs) -> Result<Vec<(String, String)>, Failure> {
    let own = args.admin.to_string();
    let body = client::get(&own, "/v1/peers", SCRAPE_TIMEOUT)
        .await
        .map_err(Failure::new)?;
    let peers: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| Failure::new(e.to_string()))?;
    let mut out = Vec::new();
    for (i, p) in peers.as_array().into_iter().flatten().enumerate() {
        let node = p["node"].as_str().unwrap_or("?").to_owned();
        if i == 0 {
            out.push((node, own.clone()));
        } else if let (true, Some(admin)) = (args.peers, p["admin"].as_str()) {
            out.push((node, admin.to_owned()));
        }
    }
    Ok(out)
}

/// Runs `witmesh stat`.
pub(crate) fn run(args: StatArgs) -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let window = Some(args.window.0).filter(|w| !w.is_zero());
        loop {
            let targets = targets(&args).await?;
            let mut before = Vec::new();
            if window.is_some() {
                for (_, addr) in &targets {
                    before.push(scrape(addr).await?);
                }
            }
            if let Some(w) = window {
                tokio::time::sleep(w).await;
            }
            let mut rows = Vec::new();
            for (i, (node, addr)) in targets.iter().enumerate() {
                let now = scrape(addr).await?;
                let totals = match before.get(i) {
                    Some(b) => delta(&now, b),
                    None => now,
                };
                rows.push((node.clone(), totals));
            }
            print!("{}", render(&rows, window));
            if !args.watch || window.is_none() {
                return Ok(());
            }
            println!();
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP witmesh_requests_total Calls finished
witmesh_requests_total{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="ok",peer="",transport="nats"} 3
witmesh_requests_total{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="trap",peer="",transport="nats"} 1
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="ok",transport="nats",le="0.001"} 2
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="ok",transport="nats",le="0.01"} 3
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="ok",transport="nats",le="+Inf"} 3
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="trap",transport="nats",le="0.001"} 0
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="trap",transport="nats",le="0.01"} 1
witmesh_request_duration_seconds_bucket{direction="inbound",function="greet",instance="local:greeter-demo/greet",outcome="trap",transport="nats",le="+Inf"} 1
"#;

    #[test]
    fn totals_sum_outcomes_and_quantiles_interpolate() {
        let t = parse(TEXT);
        let key = (
            "local:greeter-demo/greet".to_owned(),
            "greet".to_owned(),
            "inbound".to_owned(),
        );
        let g = &t[&key];
        assert_eq!((g.requests, g.ok), (4.0, 3.0));
        // Buckets summed over outcomes: 2 by 1 ms, 4 by 10 ms.
        assert_eq!(g.buckets[&Bound(0.001)], 2.0);
        assert_eq!(g.buckets[&Bound(0.01)], 4.0);
        // The median is the 2nd of 4: at the top of the first bucket.
        assert!((quantile(&g.buckets, 0.5).unwrap() - 0.001).abs() < 1e-12);
        // p75 (rank 3) is halfway through the second bucket.
        assert!((quantile(&g.buckets, 0.75).unwrap() - 0.0055).abs() < 1e-12);
        let none = delta(&t, &t);
        assert_eq!(none[&key].requests, 0.0);
        assert_eq!(quantile(&none[&key].buckets, 0.5), None);
        let table = render(&[("a".to_owned(), t)], None);
        assert!(table.contains("75.0%"), "{table}");
    }
}
