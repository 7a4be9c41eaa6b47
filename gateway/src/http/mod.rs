//! witmesh's HTTP/1.1 listeners: the server loop both share ([`server`]), their answers
//! ([`response`]), and the JSON gateway that turns requests into wRPC calls ([`gateway`]).

pub mod gateway;
pub mod response;
pub mod server;
