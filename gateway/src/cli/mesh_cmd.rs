//! `witmesh peers`, `witmesh routes` and `witmesh ls`: what a running sidecar knows about the
//! mesh, read from its admin listener.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::Failure;
use crate::admin::client;

/// How long to wait for the sidecar's answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where to ask and how to print.
#[derive(Debug, Args)]
pub struct MeshArgs {
    /// The sidecar's admin listener (`admin=` in its ready line).
    #[arg(long, value_name = "ADDR", default_value_t = witmesh_config::DEFAULT_ADMIN_LISTEN)]
    admin: SocketAddr,
    /// Print the JSON the sidecar answered instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `witmesh peers`.
pub(crate) fn peers(args: MeshArgs) -> Result<(), Failure> {
    let answer = fetch(&args, "/v1/peers")?;
    if args.json {
        return print_json(&answer);
    }
    let mut rows = vec![[
        "NODE".to_owned(),
        "NATS PREFIX".to_owned(),
        "QUIC".to_owned(),
        "LOAD".to_owned(),
        "EXPIRES".to_owned(),
        "INSTANCES".to_owned(),
    ]];
    for p in answer.as_array().into_iter().flatten() {
        let expires = match p["expires_in_ms"].as_u64() {
            Some(0) | None => "self".to_owned(),
            Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
        };
        rows.push([
            text(&p["node"]),
            text(&p["nats_prefix"]),
            text(&p["quic"]),
            text(&p["load"]),
            expires,
            list(&p["instances"]),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// Runs `witmesh ls`: each instance, its providers, then its functions, indented.
pub(crate) fn ls(args: MeshArgs) -> Result<(), Failure> {
    let answer = fetch(&args, "/v1/catalog")?;
    if args.json {
        return print_json(&answer);
    }
    for e in answer.as_array().into_iter().flatten() {
        println!("{}  ({})", text(&e["instance"]), list(&e["providers"]));
        for f in e["functions"].as_array().into_iter().flatten() {
            println!("    {}", text(f));
        }
        if let Some(p) = e["problem"].as_str() {
            println!("    (functions unknown: {p})");
        }
    }
    Ok(())
}

/// Runs `witmesh routes`.
pub(crate) fn routes(args: MeshArgs) -> Result<(), Failure> {
    let answer = fetch(&args, "/v1/routes")?;
    if args.json {
        return print_json(&answer);
    }
    let mut rows = vec![[
        "IMPORT".to_owned(),
        "PROVIDER".to_owned(),
        "NODE".to_owned(),
        "ADDRESS".to_owned(),
        "SOURCE".to_owned(),
        "BREAKER".to_owned(),
        "EWMA".to_owned(),
        "OK/FAILED".to_owned(),
    ]];
    for r in answer.as_array().into_iter().flatten() {
        let providers = r["providers"].as_array().cloned().unwrap_or_default();
        if providers.is_empty() {
            rows.push([
                text(&r["instance"]),
                "(none live)".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ]);
        }
        for p in providers {
            rows.push([
                text(&r["instance"]),
                text(&p["instance"]),
                text(&p["node"]),
                text(&p["address"]),
                text(&p["source"]),
                text(&p["breaker"]),
                format!("{}µs", text(&p["ewma_us"])),
                format!("{}/{}", text(&p["ok"]), text(&p["failed"])),
            ]);
        }
    }
    print!("{}", table(&rows));
    Ok(())
}

fn fetch(args: &MeshArgs, path: &str) -> Result<Value, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    let body = rt
        .block_on(client::get(&args.admin.to_string(), path, TIMEOUT))
        .map_err(Failure::new)?;
    serde_json::from_slice(&body).map_err(|e| {
        Failure::new(format!(
            "the admin listener at {} answered {path} with something that is not JSON: {e}",
            args.admin
        ))
    })
}

fn print_json(v: &Value) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(Failure::new)?;
    println!("{s}");
    Ok(())
}

/// A JSON scalar as a table cell; `-` for null.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> String {
    let items: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// Rows as left-aligned columns separated by two spaces.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = [
            ["A".to_owned(), "BB".to_owned(), "C".to_owned()],
            ["long".to_owned(), "x".to_owned(), "y".to_owned()],
        ];
        assert_eq!(table(&rows), "A     BB  C\nlong  x   y\n");
    }
}
