//! The WASI 0.3 test component: calls wasi:random and wasi:clocks at 0.3.0, the second through
//! an async import, so a host must link WASI 0.3 to run it.

wit_bindgen::generate!({
    world: "wasi03-component",
    path: "../../wit/wasi03",
    generate_all,
});

use exports::witmesh::wasi03::probe::Guest;
use wasi::clocks::monotonic_clock;
use wasi::random::random;

struct Probe;

impl Guest for Probe {
    fn random_len(max_len: u64) -> u64 {
        random::get_random_bytes(max_len).len() as u64
    }

    async fn nap(ns: u64) -> u64 {
        let start = monotonic_clock::now();
        monotonic_clock::wait_for(ns).await;
        monotonic_clock::now() - start
    }
}

export!(Probe);
