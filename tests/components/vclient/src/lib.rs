//! The vclient test component: imports `witmesh:versioned/api@1.2.0` and re-exports `which`,
//! so tests see which version of the interface witmesh routed the import to.

wit_bindgen::generate!({
    world: "vclient-component",
    path: "../../wit/vclient",
    generate_all,
});

use exports::witmesh::vclient::which::Guest;
use witmesh::versioned::api;

struct Vclient;

impl Guest for Vclient {
    fn which() -> String {
        api::which()
    }
}

export!(Vclient);
