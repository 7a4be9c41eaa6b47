//! The relay test component: every export calls the matching import, so a call to it is a
//! forwarded call through witmesh's router (to a component on this node or another node).

wit_bindgen::generate!({
    world: "relay-component",
    path: "../../wit/relay",
    generate_all,
});

use exports::witmesh::relay::relay::Guest;
use local::greeter_demo::greet;
use wasmcloud::bus::lattice;
use witmesh::faults::faults;

struct Relay;

impl Guest for Relay {
    fn greet(name: String) -> String {
        greet::greet(&name)
    }

    fn ok(n: u32) -> u32 {
        faults::ok(n)
    }

    fn mark(id: u64) -> u64 {
        faults::mark(id)
    }

    fn sleep(ms: u64) -> u64 {
        faults::sleep(ms)
    }

    fn trap() -> u32 {
        faults::trap()
    }

    fn ping() {
        faults::ping();
    }

    fn greet_via(link: String, name: String) -> String {
        let target = lattice::CallTargetInterface::new("local", "greeter-demo", "greet");
        lattice::set_link_name(&link, vec![target]);
        greet::greet(&name)
    }
}

export!(Relay);
