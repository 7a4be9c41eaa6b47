//! The logger test component: `emit` logs through wasi:logging and writes to stdout and stderr,
//! so tests can check where a host sends guest output.

wit_bindgen::generate!({
    world: "logger-component",
    path: "../../wit/logger",
    generate_all,
});

use exports::witmesh::logger::logger::Guest;
use wasi::logging::logging::{log, Level};

/// The wasi:logging context every message is logged with.
const CONTEXT: &str = "logger-test";

struct Logger;

impl Guest for Logger {
    fn emit(message: String) -> u32 {
        log(Level::Info, CONTEXT, &message);
        log(Level::Warn, CONTEXT, &message);
        println!("{message}");
        eprintln!("{message}");
        2
    }
}

export!(Logger);
