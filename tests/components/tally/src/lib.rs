//! The tally test component: uses `witmesh:counters` counters, a resource kept by a provider
//! that witmesh reaches over the network, through handles it forwards.

wit_bindgen::generate!({
    world: "tally-component",
    path: "../../wit/tally",
    generate_all,
});

use std::cell::RefCell;

use exports::witmesh::tally::tally::{Counted, Guest};
use witmesh::counters::counters::{finish, make, peek, Counter};

thread_local! {
    /// The counter `keep` made, alive for as long as the instance.
    static KEPT: RefCell<Option<Counter>> = const { RefCell::new(None) };
}

struct Tally;

impl Guest for Tally {
    fn count(start: u32, n: u32) -> Counted {
        let c = Counter::new(start);
        let mut added = start;
        for _ in 0..n {
            added = c.add(1);
        }
        let peeked = peek(&c);
        let home = c.home();
        let finished = finish(c);
        let made = make(start).add(2);
        Counted {
            added,
            peeked,
            finished,
            home,
            made,
        }
    }

    fn keep(start: u32) {
        KEPT.with(|k| *k.borrow_mut() = Some(Counter::new(start)));
    }

    fn add_kept(by: u32) -> u32 {
        KEPT.with(|k| k.borrow().as_ref().map_or(0, |c| c.add(by)))
    }
}

export!(Tally);
