//! The command line: what users meet first.

mod bench_cmd;
mod call_cmd;
mod config_cmd;
mod mesh_cmd;
mod stat_cmd;
mod up;
mod wit_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for a command that failed for any reason other than bad configuration.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// A sidecar and gateway that carries WIT interfaces across hosts over wRPC.
#[derive(Debug, Parser)]
#[command(name = "witmesh", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a function of any wRPC server (or a witmesh HTTP gateway) and report its latency
    /// distribution: `witmesh bench --nats URL --prefix P --gen -c 16 -n 10000 INSTANCE.FUNC`.
    Bench(Box<bench_cmd::BenchArgs>),
    /// Call a function of any wRPC server: `witmesh call --nats URL --prefix P INSTANCE.FUNC ARGS...`.
    Call(Box<call_cmd::CallArgs>),
    /// Print the WIT of an instance a server serves (or of --wit).
    Describe(Box<call_cmd::DescribeArgs>),
    /// Check configuration files.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Serve components' exports over QUIC and NATS until SIGTERM or SIGINT.
    Up(Box<up::UpArgs>),
    /// List the instances the mesh serves, with providers and functions (read from a running
    /// sidecar's admin listener).
    Ls(mesh_cmd::MeshArgs),
    /// List the nodes a running sidecar knows (read from its admin listener).
    Peers(mesh_cmd::MeshArgs),
    /// Show where a running sidecar sends each forwarded import (read from its admin listener).
    Routes(mesh_cmd::MeshArgs),
    /// Success rate, calls per second and latency per WIT function, from a running sidecar's
    /// metrics (and its peers' with --peers).
    Stat(stat_cmd::StatArgs),
    /// Inspect WIT and encode or decode wRPC values.
    #[command(subcommand)]
    Wit(wit_cmd::WitCommand),
}

/// A failure with the exit status it should produce.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    /// An ordinary failure (status 1).
    pub(crate) fn new(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            status: EXIT_FAILURE,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        // `{:#}` prints the cause chain on one line and never a backtrace.
        Failure::new(format!("{e:#}"))
    }
}

/// Parses the command line, runs the command and maps the outcome to an exit status.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Bench(args) => bench_cmd::run(*args),
        Command::Call(args) => call_cmd::call(*args),
        Command::Describe(args) => call_cmd::describe(*args),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Up(args) => up::run(*args),
        Command::Ls(args) => mesh_cmd::ls(args),
        Command::Peers(args) => mesh_cmd::peers(args),
        Command::Routes(args) => mesh_cmd::routes(args),
        Command::Stat(args) => stat_cmd::run(args),
        Command::Wit(cmd) => wit_cmd::run(cmd),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}
