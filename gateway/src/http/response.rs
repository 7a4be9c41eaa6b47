//! Building answers: text, JSON, raw bytes and RFC 9457 problem documents, and the body type
//! every answer has (whole, or streamed from a wasi:http component).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::call::FailureKind;

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
        Err(e) => problem(Problem::Internal, &format!("cannot encode the answer: {e}")),
    }
}

/// What a problem document reports: a call's failure, or a listener's own refusal of a
/// request before any call. Each has one `kind` name and one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A call failed, or was refused as a call would be (its kind's status and name).
    Call(FailureKind),
    /// No such route or endpoint (404 `not-found`).
    NotFound,
    /// The method is not allowed there (405 `method`).
    Method,
    /// The path is not valid percent-encoded UTF-8 (400 `bad-path`).
    BadPath,
    /// The function cannot be called this way (501 `unsupported`).
    Unsupported,
    /// The body's media type does not fit the function (415 `bad-value`).
    MediaType,
    /// The body is larger than the listener takes (413 `too-large`).
    TooLarge,
    /// The body did not arrive in time (408 `slow-body`).
    SlowBody,
    /// The body could not be read (400 `bad-body`).
    BadBody,
    /// The body is not JSON (400 `bad-json`).
    BadJson,
    /// The answer could not be built (500 `internal`).
    Internal,
}

impl Problem {
    /// The document's `kind`, a short stable name (also its `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Call(kind) => kind.as_str(),
            Problem::NotFound => "not-found",
            Problem::Method => "method",
            Problem::BadPath => "bad-path",
            Problem::Unsupported => "unsupported",
            Problem::MediaType => "bad-value",
            Problem::TooLarge => "too-large",
            Problem::SlowBody => "slow-body",
            Problem::BadBody => "bad-body",
            Problem::BadJson => "bad-json",
            Problem::Internal => "internal",
        }
    }

    /// The answer's HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Problem::Call(kind) => {
                StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::Method => StatusCode::METHOD_NOT_ALLOWED,
            Problem::BadPath | Problem::BadBody | Problem::BadJson => StatusCode::BAD_REQUEST,
            Problem::Unsupported => StatusCode::NOT_IMPLEMENTED,
            Problem::MediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::SlowBody => StatusCode::REQUEST_TIMEOUT,
            Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An RFC 9457 problem document of `kind`, `detail` saying what was wrong and what to do.
pub fn problem(kind: Problem, detail: &str) -> Answer {
    let code = kind.status();
    let body = serde_json::json!({
        "type": format!("https://witmesh.dev/problems/{}", kind.as_str()),
        "title": code.canonical_reason().unwrap_or("error"),
        "status": code.as_u16(),
        "kind": kind.as_str(),
        "detail": detail,
    });
    bytes(
        code,
        "application/problem+json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}
