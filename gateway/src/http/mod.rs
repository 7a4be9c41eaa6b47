//! witmesh's HTTP/1.1 listeners: the server loop both share ([`server`]), their answers
//! ([`response`]), the JSON gateway that turns requests into wRPC calls ([`gateway`]) and its
//! OpenAPI document ([`openapi`]).

pub mod forward;
pub mod gateway;
pub mod openapi;
pub mod response;
pub mod server;
