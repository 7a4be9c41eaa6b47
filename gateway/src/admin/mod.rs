//! The admin listener: a small HTTP/1.1 server on its own (loopback by default) address for
//! operators and `witmesh peers` / `witmesh routes`. It answers from the node's view
//! ([`NodeInfo`]) and keeps answering while the node drains, so `/readyz` can say so.
//!
//! | path | answer |
//! |---|---|
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when ready, 503 before the listeners are up and once draining; the status JSON |
//! | `GET /v1/status` | the node's status JSON |
//! | `GET /v1/peers` | the nodes known, this one first |
//! | `GET /v1/routes` | each forwarded import and its providers |

pub mod client;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::api::NodeInfo;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may stay open in all.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound admin listener.
pub struct AdminListener {
    /// The address it is bound to (the real port when 0 was asked for).
    pub local_addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for admin requests on {addr}: {source} (choose another `admin.listen` or --admin, or disable `[admin]`)")]
pub struct AdminError {
    addr: SocketAddr,
    source: std::io::Error,
}

impl AdminListener {
    /// Binds `addr` and serves admin requests from `info` until [`AdminListener::close`].
    pub async fn start(addr: SocketAddr, info: Arc<NodeInfo>) -> Result<Self, AdminError> {
        let err = |source| AdminError { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(err)?;
        let local_addr = listener.local_addr().map_err(err)?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, info, stop.clone()));
        Ok(AdminListener {
            local_addr,
            stop,
            task,
        })
    }

    /// Stops accepting and drops open connections.
    pub async fn close(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, info: Arc<NodeInfo>, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("admin listener: cannot accept a connection: {e}");
                    continue;
                }
            },
        };
        let (info, stop) = (info.clone(), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let response = respond(&info, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = stop.cancelled() => {}
                r = tokio::time::timeout(CONNECTION_TIMEOUT, conn) => {
                    if let Ok(Err(e)) = r {
                        tracing::debug!("admin connection from {peer}: {e}");
                    }
                }
            }
        });
    }
}

/// The answer to `method path`.
fn respond(info: &NodeInfo, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return problem(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("`{method}` is not allowed on the admin listener; use GET"),
        );
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            let status = info.status();
            let code = if status.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(code, &status)
        }
        "/v1/status" => json(StatusCode::OK, &info.status()),
        "/v1/peers" => json(StatusCode::OK, &info.peers()),
        "/v1/routes" => json(StatusCode::OK, &info.routes()),
        _ => problem(
            StatusCode::NOT_FOUND,
            &format!(
                "no admin endpoint `{}`; try /healthz, /readyz, /v1/status, /v1/peers or /v1/routes",
                path.chars().take(128).collect::<String>()
            ),
        ),
    }
}

fn response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn text(code: StatusCode, body: &str) -> Response<Full<Bytes>> {
    response(code, "text/plain; charset=utf-8", body.as_bytes().to_vec())
}

fn json(code: StatusCode, value: &impl Serialize) -> Response<Full<Bytes>> {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => response(code, "application/json", body),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

/// An RFC 9457 problem document.
fn problem(code: StatusCode, detail: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": code.canonical_reason().unwrap_or("error"),
        "status": code.as_u16(),
        "detail": detail,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    response(code, "application/problem+json", bytes)
}
