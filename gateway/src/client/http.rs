//! Calls through a witmesh HTTP gateway (`POST /v1/call/{instance}/{function}` with JSON), over
//! kept-alive HTTP/1.1 connections, for callers that benchmark or test the gateway path.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value as Json;
use witmesh_proto::text::json;
use witmesh_proto::{Func, Value};

use super::{CallFailure, FailureKind};
use crate::call::deadline::by_for;

/// Most idle connections kept for reuse.
const MAX_IDLE: usize = 256; // one per concurrent caller is plenty

/// A gateway at `http://ADDR`, with a pool of idle connections.
pub struct HttpCaller {
    authority: String,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

fn unavailable(message: String) -> CallFailure {
    CallFailure {
        kind: FailureKind::Unavailable,
        class: None,
        message,
    }
}

impl HttpCaller {
    /// A caller of the gateway at `url` (`http://HOST:PORT`).
    pub fn new(url: &str) -> Result<Self, String> {
        let authority = url
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| format!("`{url}` is not a gateway URL: give http://HOST:PORT"))?;
        Ok(HttpCaller {
            authority: authority.to_owned(),
            idle: Mutex::new(Vec::new()),
        })
    }

    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, CallFailure> {
        while let Some(mut c) = self.idle.lock().ok().and_then(|mut i| i.pop()) {
            if c.ready().await.is_ok() {
                return Ok(c);
            }
        }
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| {
                unavailable(format!(
                    "cannot connect to the gateway at {}: {e}",
                    self.authority
                ))
            })?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| {
                unavailable(format!(
                    "HTTP handshake with {} failed: {e}",
                    self.authority
                ))
            })?;
        tokio::spawn(conn);
        Ok(send)
    }

    /// Calls `func` with `params` through the gateway, waiting at most `timeout`.
    pub async fn call(
        &self,
        func: &Func,
        params: &[Value],
        timeout: Duration,
    ) -> Result<Vec<Value>, CallFailure> {
        let target = format!("{}.{}", func.instance, func.name);
        let body = serde_json::to_vec(&json::values_to_json(&func.params, params))
            .map_err(|e| CallFailure::bad_value(&target, e))?;
        let path = format!(
            "/v1/call/{}/{}",
            encode_segment(&func.instance),
            encode_segment(&func.name)
        );
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallFailure::bad_value(&target, e))?;
        let exchange = async {
            let mut conn = self.connection().await?;
            let response = conn.send_request(request).await.map_err(|e| {
                unavailable(format!(
                    "the gateway at {} did not answer: {e}",
                    self.authority
                ))
            })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unavailable(format!("reading the gateway's answer failed: {e}")))?
                .to_bytes();
            if let Ok(mut idle) = self.idle.lock() {
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
            }
            Ok::<_, CallFailure>((status, body))
        };
        let (status, body) = by_for(timeout, exchange, |had| CallFailure {
            kind: FailureKind::Deadline,
            class: None,
            message: format!("{target}: no answer from the gateway within {had:?}"),
        })
        .await?;
        let doc: Json = serde_json::from_slice(&body).map_err(|e| CallFailure {
            kind: FailureKind::Remote,
            class: None,
            message: format!(
                "{target}: the gateway answered {status} with a body that is not JSON: {e}"
            ),
        })?;
        if !status.is_success() {
            return Err(CallFailure {
                kind: doc["kind"]
                    .as_str()
                    .and_then(FailureKind::parse)
                    .unwrap_or(FailureKind::Remote),
                class: None,
                message: doc["detail"].as_str().unwrap_or("no detail").to_owned(),
            });
        }
        func.results
            .iter()
            .zip(func.result_labels.iter())
            .map(|(ty, label)| {
                let name = label.strip_prefix("result ").unwrap_or(label);
                json::from_json(ty, &doc[name]).map_err(|e| CallFailure {
                    kind: FailureKind::Remote,
                    class: None,
                    message: format!("{target}: result `{name}` from the gateway: {e}"),
                })
            })
            .collect()
    }
}

/// A path with everything but unreserved characters and `:@/` percent-encoded.
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b':'
            | b'@'
            | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
