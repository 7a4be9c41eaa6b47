//! Talking to a running sidecar's admin listener, for `witmesh peers`, `routes`, `ls` and
//! `call --via`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::call::deadline::by_for;

/// The largest answer read from an admin listener.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    /// Nothing listens there, or the connection broke.
    #[error("cannot reach the admin listener at {addr}: {reason} (is a sidecar running with its admin listener there? see `admin=` in its ready line)")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// The failure.
        reason: String,
    },
    /// No answer within the time allowed.
    #[error("the admin listener at {addr} did not answer within {timeout:?}")]
    Timeout {
        /// The address tried.
        addr: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// It answered with an error status.
    #[error("the admin listener at {addr} answered {status} for {path}: {body}")]
    Status {
        /// The address tried.
        addr: String,
        /// The path asked for.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
}

/// `GET path` from the admin listener at `addr` (`host:port`); the body of a 2xx answer.
pub async fn get(addr: &str, path: &str, timeout: Duration) -> Result<Bytes, AdminClientError> {
    let (status, body) = request(addr, "GET", path, Bytes::new(), timeout).await?;
    if !(200..300).contains(&status) {
        return Err(AdminClientError::Status {
            addr: addr.to_owned(),
            path: path.to_owned(),
            status,
            body: String::from_utf8_lossy(&body).chars().take(512).collect(),
        });
    }
    Ok(body)
}

/// `METHOD path` with a JSON `body`; the status and body of any answer.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, Bytes), AdminClientError> {
    by_for(timeout, fetch(addr, method, path, body), |timeout| {
        AdminClientError::Timeout {
            addr: addr.to_owned(),
            timeout,
        }
    })
    .await
}

async fn fetch(
    addr: &str,
    method: &str,
    path: &str,
    body: Bytes,
) -> Result<(u16, Bytes), AdminClientError> {
    let unreachable = |reason: String| AdminClientError::Unreachable {
        addr: addr.to_owned(),
        reason,
    };
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|e| unreachable(e.to_string()))?;
    let res = send
        .send_request(req)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let status = res.status();
    let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| unreachable(format!("reading the answer: {e}")))?
        .to_bytes();
    Ok((status.as_u16(), body))
}
