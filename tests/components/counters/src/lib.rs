//! The counters test component: keeps `witmesh:counters` counters itself, so that a sidecar
//! serves a resource a component defines and hands its handles to callers over wRPC.

wit_bindgen::generate!({
    world: "counters-provider",
    path: "../../wit/counters",
});

use std::cell::Cell;

use exports::witmesh::counters::counters::{Counter, CounterBorrow, Guest, GuestCounter};

struct Counters;

/// One counter's value.
struct Kept(Cell<u32>);

impl GuestCounter for Kept {
    fn new(start: u32) -> Self {
        Kept(Cell::new(start))
    }

    fn add(&self, by: u32) -> u32 {
        let v = self.0.get().wrapping_add(by);
        self.0.set(v);
        v
    }

    fn home(&self) -> String {
        "component".to_owned()
    }
}

impl Guest for Counters {
    type Counter = Kept;

    fn make(start: u32) -> Counter {
        Counter::new(Kept::new(start))
    }

    fn peek(c: CounterBorrow<'_>) -> u32 {
        c.get::<Kept>().0.get()
    }

    fn finish(c: Counter) -> u32 {
        c.get::<Kept>().0.get()
    }
}

export!(Counters);
