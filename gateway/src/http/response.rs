//! Building answers: text, JSON, raw bytes and RFC 9457 problem documents, and the body type
//! every answer has (whole, or streamed from a wasi:http component).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// An error while an answer's body streams.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// An answer's body.
pub type Body = UnsyncBoxBody<Bytes, BodyError>;
/// An answer.
pub type Answer = Response<Body>;

/// A whole body.
pub fn whole(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An answer of `body` with `content_type`.
pub fn bytes(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(whole(body));
    *r.status_mut() = code;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

/// A plain-text answer.
pub fn text(code: StatusCode, body: &str) -> Answer {
    bytes(code, "text/plain; charset=utf-8", body.as_bytes().to_vec())
}

/// A JSON answer.
pub fn json(code: StatusCode, value: &impl Serialize) -> Answer {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => bytes(code, "application/json", body),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

/// An RFC 9457 problem document: `kind` is a short stable name (also its `type`), `detail`
/// what was wrong and what to do.
pub fn problem(code: StatusCode, kind: &str, detail: &str) -> Answer {
    let body = serde_json::json!({
        "type": format!("https://witmesh.dev/problems/{kind}"),
        "title": code.canonical_reason().unwrap_or("error"),
        "status": code.as_u16(),
        "kind": kind,
        "detail": detail,
    });
    bytes(
        code,
        "application/problem+json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// The status of a problem document for a failure of `kind`.
pub fn http_status(kind: crate::call::FailureKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::BAD_GATEWAY)
}
