//! The greeter test component: `local:greeter-demo/greet.greet("world")` is `"Hello, world!"`.
//! A prebuilt copy is `gateway/assets/greeter.wasm`, what `witmesh up` serves by default.

wit_bindgen::generate!({
    world: "greeter",
    path: "../../wit/greeter",
});

use exports::local::greeter_demo::greet::Guest;

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
}

export!(Greeter);
