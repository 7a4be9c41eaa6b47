//! `wrpc:http`: HTTP requests and responses as wRPC values (bodies as `stream<u8>`, trailers
//! as a `future`), and their conversion to and from hyper's. The same bindings serve both ends:
//! the sidecar with the HTTP listener calls `handle`, the sidecar running the component
//! serves it.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use hyper::body::{Body, Frame};
use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod bindings {
    wit_bindgen_wrpc::generate!({
        world: "witmesh:mesh/http-bridge",
        path: "../proto-wit/wit",
        generate_all,
    });
}

pub use bindings::exports::wrpc::http::incoming_handler::{serve_interface, Handler};
pub use bindings::wrpc::http::incoming_handler::handle;
pub use bindings::wrpc::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};

/// The instance `wrpc:http` handlers are served under.
pub const INSTANCE: &str = "wrpc:http/incoming-handler@0.1.0";
/// The function a handler serves.
pub const FUNCTION: &str = "handle";

/// Most header fields accepted from the wire in one message.
pub const MAX_FIELDS: usize = 256; // browsers send a few dozen; hyper's own limit is 100
/// Longest the trailers may take to follow the end of a body.
const TRAILERS_TIMEOUT: Duration = Duration::from_secs(5); // the sender has them once the body ends

/// A body as wRPC sends it.
pub type WireBody = Pin<Box<dyn Stream<Item = Bytes> + Send>>;
/// Trailers as wRPC sends them.
pub type WireTrailers = Pin<Box<dyn std::future::Future<Output = Option<Fields>> + Send>>;

/// Why a value from the wire is not a valid HTTP message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// A header name is not a valid HTTP token.
    #[error("invalid header name `{0}`")]
    HeaderName(String),
    /// A header value has bytes HTTP does not allow.
    #[error("invalid value for header `{0}`")]
    HeaderValue(String),
    /// More header fields than [`MAX_FIELDS`].
    #[error("{0} header fields, more than the {MAX_FIELDS} allowed")]
    TooManyFields(usize),
    /// The method is not a valid HTTP token.
    #[error("invalid method `{0}`")]
    Method(String),
    /// The status is outside 100..=999.
    #[error("invalid status {0}")]
    Status(u16),
    /// The path, scheme or authority do not form a URI.
    #[error("invalid request target: {0}")]
    Uri(String),
}

/// Header fields in wRPC's form: each name once, with all its values.
pub fn fields_from_headers(headers: &HeaderMap) -> Fields {
    let mut fields: Fields = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .map(|v| Bytes::copy_from_slice(v.as_bytes()))
            .collect();
        fields.push((name.as_str().to_owned(), values));
    }
    fields
}

/// Header fields from wRPC's form, checked as HTTP requires.
pub fn headers_from_fields(fields: Fields) -> Result<HeaderMap, MessageError> {
    let count: usize = fields.iter().map(|(_, v)| v.len()).sum();
    if count > MAX_FIELDS {
        return Err(MessageError::TooManyFields(count));
    }
    let mut headers = HeaderMap::with_capacity(count);
    for (name, values) in fields {
        let key = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| MessageError::HeaderName(name.chars().take(64).collect()))?;
        for v in values {
            let value = HeaderValue::from_maybe_shared(v)
                .map_err(|_| MessageError::HeaderValue(key.to_string()))?;
            headers.append(key.clone(), value);
        }
    }
    Ok(headers)
}

/// An HTTP method in wRPC's form.
pub fn method_to_wire(m: &hyper::Method) -> Method {
    match *m {
        hyper::Method::GET => Method::Get,
        hyper::Method::HEAD => Method::Head,
        hyper::Method::POST => Method::Post,
        hyper::Method::PUT => Method::Put,
        hyper::Method::DELETE => Method::Delete,
        hyper::Method::CONNECT => Method::Connect,
        hyper::Method::OPTIONS => Method::Options,
        hyper::Method::TRACE => Method::Trace,
        hyper::Method::PATCH => Method::Patch,
        _ => Method::Other(m.as_str().to_owned()),
    }
}

/// An HTTP method from wRPC's form.
pub fn method_from_wire(m: Method) -> Result<hyper::Method, MessageError> {
    Ok(match m {
        Method::Get => hyper::Method::GET,
        Method::Head => hyper::Method::HEAD,
        Method::Post => hyper::Method::POST,
        Method::Put => hyper::Method::PUT,
        Method::Delete => hyper::Method::DELETE,
        Method::Connect => hyper::Method::CONNECT,
        Method::Options => hyper::Method::OPTIONS,
        Method::Trace => hyper::Method::TRACE,
        Method::Patch => hyper::Method::PATCH,
        Method::Other(s) => hyper::Method::from_bytes(s.as_bytes())
            .map_err(|_| MessageError::Method(s.chars().take(64).collect()))?,
    })
}

/// Splits an HTTP body into wRPC's byte stream and trailers future. The body is read only as
/// fast as the stream is consumed; a body that fails midway ends the stream there, without
/// trailers.
pub fn body_to_wire<B>(body: B) -> (WireBody, WireTrailers)
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<Option<Fields>>();
    let data = futures::stream::unfold((body, Some(tx)), |(mut body, mut tx)| async move {
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) => return Some((data, (body, tx))),
                    Err(frame) => {
                        if let (Ok(trailers), Some(tx)) = (frame.into_trailers(), tx.take()) {
                            let _ = tx.send(Some(fields_from_headers(&trailers)));
                        }
                    }
                },
                Some(Err(e)) => {
                    tracing::debug!("HTTP body failed midway: {e}");
                    return None;
                }
                None => {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(None);
                    }
                    return None;
                }
            }
        }
    });
    let trailers = async move { rx.await.ok().flatten() };
    (Box::pin(data), Box::pin(trailers))
}

/// Why a body from the wire did not arrive whole.
#[derive(Debug, thiserror::Error)]
pub enum WireBodyError {
    /// Nothing arrived for too long.
    #[error("the body stalled: nothing arrived for {0:?}")]
    Stalled(Duration),
    /// The exchange carrying it failed.
    #[error("the body was cut off: {0}")]
    Cut(String),
}

/// Longest a body from the wire may go without a byte before it counts as stalled.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60); // a live sender writes far more often

/// Joins wRPC's byte stream and trailers future into an HTTP body. A body that stalls for
/// [`BODY_IDLE_TIMEOUT`] ends with an error; so does one whose exchange `outcome` reports
/// it failed (when given: the end of the stream alone cannot tell a cut from a finish).
/// Trailers that are invalid, or that do not come within a few seconds of the body's end,
/// are left out.
pub fn body_from_wire(
    data: WireBody,
    trailers: WireTrailers,
    outcome: Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
) -> http_body_util::StreamBody<impl Stream<Item = Result<Frame<Bytes>, WireBodyError>>> {
    let data = futures::stream::unfold(Some(data), |data| async move {
        let mut data = data?;
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, data.next()).await {
            Ok(Some(b)) => Some((Ok(Frame::data(b)), Some(data))),
            Ok(None) => None,
            Err(_) => Some((Err(WireBodyError::Stalled(BODY_IDLE_TIMEOUT)), None)),
        }
    });
    let checked = futures::stream::once(async move {
        let outcome = outcome?;
        match tokio::time::timeout(TRAILERS_TIMEOUT, outcome).await {
            Ok(Ok(Err(why))) => Some(Err(WireBodyError::Cut(why))),
            _ => None,
        }
    })
    .filter_map(std::future::ready);
    let trailers = futures::stream::once(async move {
        match tokio::time::timeout(TRAILERS_TIMEOUT, trailers).await {
            Ok(Some(fields)) => match headers_from_fields(fields) {
                Ok(h) if !h.is_empty() => Some(Ok(Frame::trailers(h))),
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!("dropping invalid HTTP trailers: {e}");
                    None
                }
            },
            Ok(None) => None,
            Err(_) => {
                tracing::debug!(
                    "HTTP trailers did not follow the body within {TRAILERS_TIMEOUT:?}"
                );
                None
            }
        }
    })
    .filter_map(std::future::ready);
    http_body_util::StreamBody::new(data.chain(checked).chain(trailers))
}

/// A short description of a wasi:http error code for logs and problem bodies.
pub fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::InternalError(Some(m)) => crate::call::bounded(m).to_owned(),
        other => crate::call::bounded(&format!("{other:?}")).to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn headers_round_trip_with_repeated_names() {
        let mut h = HeaderMap::new();
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        h.append("content-type", HeaderValue::from_static("text/plain"));
        let back = headers_from_fields(fields_from_headers(&h)).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn bad_fields_are_refused_with_the_name() {
        let e = headers_from_fields(vec![("bad name".into(), vec![Bytes::from_static(b"x")])])
            .unwrap_err();
        assert!(matches!(e, MessageError::HeaderName(n) if n == "bad name"));
        let e = headers_from_fields(vec![("x-a".into(), vec![Bytes::from_static(b"a\nb")])])
            .unwrap_err();
        assert!(matches!(e, MessageError::HeaderValue(n) if n == "x-a"));
        let many = vec![("x-a".into(), vec![Bytes::from_static(b"1"); MAX_FIELDS + 1])];
        assert!(matches!(
            headers_from_fields(many),
            Err(MessageError::TooManyFields(n)) if n == MAX_FIELDS + 1
        ));
    }

    #[test]
    fn methods_round_trip() {
        for m in ["GET", "POST", "PATCH", "PURGE"] {
            let m = hyper::Method::from_bytes(m.as_bytes()).unwrap();
            assert_eq!(method_from_wire(method_to_wire(&m)).unwrap(), m);
        }
        assert!(method_from_wire(Method::Other("a b".into())).is_err());
    }

    #[tokio::test]
    async fn a_body_with_trailers_crosses_both_ways() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", HeaderValue::from_static("42"));
        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"hello "))),
            Ok(Frame::data(Bytes::from_static(b"world"))),
            Ok(Frame::trailers(trailers.clone())),
        ];
        let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
        let (data, t) = body_to_wire(body);
        let collected = BodyExt::collect(body_from_wire(data, t, None))
            .await
            .unwrap();
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes(), Bytes::from_static(b"hello world"));
    }
}
