//! `witmesh`: a sidecar and gateway that carries WIT interfaces across hosts over wRPC.
//!
//! This is the binary's edge: it parses the command line, runs one command and turns any error
//! into one sentence on stderr and a non-zero exit status.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
