//! Calling any wRPC function from witmesh's edge (`witmesh call`, `witmesh bench`, the HTTP
//! gateway): one call of a function whose types are known, over NATS, QUIC or this node's
//! router, with a deadline and a typed failure that maps to an exit status and an HTTP status.

mod http;

pub use crate::call::{CallFailure, FailureKind};
pub use http::HttpCaller;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use witmesh_config::HostPort;
use witmesh_proto::codec::{encode_values, Limits};
use witmesh_proto::{Func, Value};

use crate::call::deadline::within_for;
use crate::call::{AttemptError, ByteStream, StreamAnswer};
use crate::route::open::Invoker;
use crate::route::Router;
use crate::transport::nats::NatsOut;
use crate::transport::quic::QuicOut;

/// Where calls go.
pub enum Caller {
    /// A wRPC server over NATS under a subject prefix.
    Nats {
        /// The outbound NATS transport.
        out: NatsOut,
        /// The server's prefix.
        prefix: String,
    },
    /// A wRPC server over QUIC.
    Quic {
        /// The outbound QUIC transport, trusting the server's CA.
        out: QuicOut,
        /// The server's address.
        addr: HostPort,
        /// The TLS name its certificate carries.
        server_name: String,
    },
    /// Whatever this node's router finds for the instance (local, route, discovery).
    Router(Arc<Router>),
    /// A witmesh HTTP gateway, with JSON.
    Http(Arc<HttpCaller>),
}

impl Caller {
    /// A caller of the server at `prefix` over an open NATS connection.
    pub fn nats(nats: async_nats::Client, prefix: &str) -> Self {
        Caller::Nats {
            out: NatsOut::new(nats),
            prefix: prefix.to_owned(),
        }
    }

    /// A caller of the server at `addr` over QUIC, trusting `ca_pem`.
    pub fn quic(addr: HostPort, server_name: &str, ca_pem: &[u8]) -> anyhow::Result<Self> {
        let out = QuicOut::new(
            ca_pem,
            "no CA is trusted: pass --ca PEM (a witmesh sidecar's development certificate works)"
                .to_owned(),
        )?;
        Ok(Caller::Quic {
            out,
            addr,
            server_name: server_name.to_owned(),
        })
    }

    /// Calls `func` with `params` (already checked against its types), waiting at most
    /// `timeout`.
    pub async fn call(
        &self,
        func: &Func,
        params: Vec<Value>,
        limits: Limits,
        timeout: Duration,
    ) -> Result<Vec<Value>, CallFailure> {
        let target = format!("{}.{}", func.instance, func.name);
        let encode = |params: &[Value]| {
            let mut buf = BytesMut::new();
            encode_values(&func.params, &func.param_labels, params, &mut buf)
                .map(|()| buf.freeze())
                .map_err(|e| CallFailure::bad_value(&target, e.to_string()))
        };
        let attempt = async {
            match self {
                Caller::Nats { out, prefix } => {
                    let bytes = encode(&params)?;
                    out.attempt(prefix, &func.instance, func, bytes, limits, timeout)
                        .await
                        .map_err(|e| CallFailure::from_attempt(&target, &e))
                }
                Caller::Quic {
                    out,
                    addr,
                    server_name,
                } => {
                    let bytes = encode(&params)?;
                    out.attempt(addr, server_name, &func.instance, func, bytes, limits)
                        .await
                        .map_err(|e| CallFailure::from_attempt(&target, &e))
                }
                Caller::Http(http) => http.call(func, &params, timeout).await,
                Caller::Router(router) => {
                    let deadline = tokio::time::Instant::now() + timeout;
                    router
                        .call("gateway", None, func, params, Some(deadline.into_std()))
                        .await
                        .map_err(|e| CallFailure::from_forward(&target, &e))
                }
            }
        };
        within_for(timeout, attempt, |e| CallFailure::from_attempt(&target, &e)).await
    }

    /// Calls `func`, whose one parameter or one result is a `stream<u8>`, with `params`
    /// (the stream's bytes come from `input`); `timeout` bounds the wait for the results, a
    /// result stream then flows on its own.
    pub async fn call_streaming(
        &self,
        func: &Func,
        params: Vec<Value>,
        input: Option<ByteStream>,
        limits: Limits,
        timeout: Duration,
    ) -> Result<StreamAnswer, CallFailure> {
        let target = format!("{}.{}", func.instance, func.name);
        let fail = |e: AttemptError| CallFailure::from_attempt(&target, &e);
        let mut input = input;
        let attempt = async {
            let mut invoker = match self {
                Caller::Nats { out, prefix } => {
                    let (client, mut headers) =
                        out.invoker(prefix, timeout).await.map_err(fail)?;
                    let reports = Some(out.reports(&mut headers).await.map_err(fail)?);
                    Invoker::Nats {
                        client,
                        headers,
                        reports,
                    }
                }
                Caller::Quic {
                    out,
                    addr,
                    server_name,
                } => Invoker::Quic(out.invoker(addr, server_name).await.map_err(fail)?),
                Caller::Router(_) | Caller::Http(_) => {
                    return Err(CallFailure {
                        kind: FailureKind::BadValue,
                        class: None,
                        message: format!("{target} passes a stream<u8>: call its server directly (--nats or --quic), or through the HTTP gateway with a raw body"),
                    })
                }
            };
            invoker
                .call_bytes_stream(&func.instance, func, params, &mut input, false, limits)
                .await
                .map_err(fail)
        };
        within_for(timeout, attempt, fail).await
    }
}
