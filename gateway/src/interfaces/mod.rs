//! Bindings of the well-known interfaces witmesh speaks itself, as values its codec and the
//! transports carry: `wrpc:http` (HTTP messages with streamed bodies, between a node's HTTP
//! listener and a wasi:http component on another node). The serving side (`serve`) and the
//! calling side (`http`) both use them.

pub mod wrpc_http;
