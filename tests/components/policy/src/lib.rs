//! The policy test component: reads and writes files and opens TCP connections through std, so
//! tests can check what a host's policy lets a guest do. Errors are `std::io::Error` messages.

use std::net::TcpStream;

wit_bindgen::generate!({
    world: "policy-component",
    path: "../../wit/policy",
});

use exports::witmesh::policy::policy::Guest;

struct Policy;

impl Guest for Policy {
    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    fn write_file(path: String, contents: String) -> Result<(), String> {
        std::fs::write(path, contents).map_err(|e| e.to_string())
    }

    fn connect(addr: String) -> Result<(), String> {
        TcpStream::connect(addr)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

export!(Policy);
