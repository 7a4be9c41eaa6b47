//! The `witmesh` binary: parses the command line, runs one command, and turns any error into
//! one sentence on stderr and a non-zero exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    witmesh::cli::run()
}
