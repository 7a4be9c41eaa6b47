//! The faults test component: functions that trap, spin, hog memory, sleep, or count calls, for
//! serving tests of timeouts, limits and instance reuse.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

wit_bindgen::generate!({
    world: "faults-component",
    path: "../../wit/faults",
});

use exports::witmesh::faults::faults::Guest;

const MIB: usize = 1 << 20;

/// Calls this instance has served through `count`.
static COUNT: AtomicU64 = AtomicU64::new(0);

struct Faults;

impl Guest for Faults {
    fn ok(n: u32) -> u32 {
        n.wrapping_add(1)
    }

    fn trap() -> u32 {
        core::arch::wasm32::unreachable()
    }

    fn spin() -> u32 {
        let mut i: u32 = 0;
        loop {
            // `black_box` keeps the loop: the optimiser may not assume it has no effect.
            i = black_box(i.wrapping_add(1));
        }
    }

    fn hog(mib: u32) -> u32 {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for i in 0..mib {
            // A failed allocation aborts (`handle_alloc_error`), which traps: it never returns.
            let mut chunk = vec![0u8; MIB];
            // Touch every page so nothing is left lazily zeroed.
            for page in chunk.iter_mut().step_by(4096) {
                *page = i as u8 | 1;
            }
            chunks.push(black_box(chunk));
        }
        black_box(&chunks);
        chunks.len() as u32
    }

    fn sleep(ms: u64) -> u64 {
        // On wasip2 this is wasi:clocks/monotonic-clock `subscribe-duration` and a poll.
        std::thread::sleep(Duration::from_millis(ms));
        ms
    }

    fn count() -> u64 {
        COUNT.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn mark(id: u64) -> u64 {
        println!("mark {id}");
        id
    }

    fn ping() {}
}

export!(Faults);
