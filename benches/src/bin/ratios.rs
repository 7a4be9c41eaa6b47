//! Reads the Criterion results of `cargo bench -p witmesh-benches --bench codec` and prints a
//! Markdown table of median times, witmesh against upstream.
//!
//! Usage: `ratios [CRITERION_DIR]`; the default is `$CARGO_TARGET_DIR/criterion`, else the
//! workspace's `target/criterion`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use witmesh_benches::{CASES, OPS};

fn criterion_dir() -> PathBuf {
    if let Some(dir) = std::env::args_os().nth(1) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// The median estimate, in nanoseconds, of one benchmark.
fn median_ns(dir: &Path, group: &str, func: &str) -> Result<f64> {
    let path = dir.join(group).join(func).join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("no median.point_estimate in {}", path.display()))
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn main() -> Result<()> {
    let dir = criterion_dir();
    println!("| case | op | upstream | witmesh | ratio |");
    println!("|---|---|---:|---:|---:|");
    for (case, _) in CASES {
        for op in OPS {
            let group = format!("{case}-{op}");
            let up = median_ns(&dir, &group, "upstream")?;
            let ours = median_ns(&dir, &group, "witmesh")?;
            println!(
                "| {case} | {op} | {} | {} | {:.2} |",
                fmt_ns(up),
                fmt_ns(ours),
                ours / up
            );
        }
    }
    Ok(())
}
