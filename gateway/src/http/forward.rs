//! Forwarding HTTP requests to a wasi:http component on another node: the request goes out
//! as a `wrpc:http/incoming-handler.handle` call with its body streaming behind it, and the
//! response streams back the same way.

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::{Request, StatusCode};
use wrpc_transport::Invoke;

use super::response::{problem, Answer, BodyError};
use super::wrpc_http::{
    self, body_from_wire, body_to_wire, describe, fields_from_headers, headers_from_fields,
    method_to_wire, ErrorCode, Scheme,
};
use crate::route::open::{Invoker, Opened};
use crate::route::Router;
use crate::transport::AttemptError;

/// Headers that describe one connection rather than the request, which do not cross a hop.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Sends `req` to a node serving `wrpc:http/incoming-handler` (through `link` when set) and
/// answers with that node's response as it streams in.
pub async fn forward(router: &Router, link: Option<&str>, req: Request<Incoming>) -> Answer {
    let opened = match router
        .open("http", wrpc_http::INSTANCE, wrpc_http::FUNCTION, link)
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("cannot forward an HTTP request: {e}");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-provider",
                &e.to_string(),
            );
        }
    };
    let (parts, body) = req.into_parts();
    let authority = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let mut headers = parts.headers;
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let (body, trailers) = body_to_wire(body);
    let request = wrpc_http::Request {
        body,
        trailers,
        method: method_to_wire(&parts.method),
        path_with_query: parts.uri.path_and_query().map(|p| p.as_str().to_owned()),
        scheme: Some(Scheme::Http),
        authority,
        headers: fields_from_headers(&headers),
    };
    let deadline = opened.deadline;
    let answer = match &opened.invoker {
        Invoker::Nats { client, headers } => {
            exchange(&**client, Some(headers.clone()), request, deadline).await
        }
        Invoker::Quic(stream) => exchange(stream, (), request, deadline).await,
    };
    finish(router, opened, answer)
}

/// What came back: a response, the handler's own error code, or a failed exchange.
enum Outcome {
    Response(Answer),
    Refused(ErrorCode),
    Failed(AttemptError),
}

async fn exchange<I: Invoke>(
    client: &I,
    cx: I::Context,
    request: wrpc_http::Request,
    deadline: std::time::Instant,
) -> Outcome {
    let budget = deadline.saturating_duration_since(std::time::Instant::now());
    let call = wrpc_http::handle(client, cx, request);
    let (result, io) = match tokio::time::timeout(budget, call).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Outcome::Failed(attempt_error(&e)),
        Err(_) => return Outcome::Failed(AttemptError::Deadline { after: budget }),
    };
    // The rest of the exchange (the request body going out, the response body coming in)
    // runs on its own; it ends when both bodies have.
    if let Some(io) = io {
        tokio::spawn(async move {
            if let Err(e) = io.await {
                tracing::debug!("a forwarded HTTP exchange ended early: {e:#}");
            }
        });
    }
    match result {
        Ok(response) => match to_answer(response) {
            Ok(a) => Outcome::Response(a),
            Err(e) => Outcome::Failed(AttemptError::BadResults {
                reason: e.to_string(),
            }),
        },
        Err(code) => Outcome::Refused(code),
    }
}

fn to_answer(response: wrpc_http::Response) -> Result<Answer, wrpc_http::ConvertError> {
    let wrpc_http::Response {
        body,
        trailers,
        status,
        headers,
    } = response;
    let mut answer = hyper::Response::new(
        body_from_wire(body, trailers)
            .map_err(|never| -> BodyError { match never {} })
            .boxed_unsync(),
    );
    *answer.status_mut() =
        StatusCode::from_u16(status).map_err(|_| wrpc_http::ConvertError::Status(status))?;
    let mut headers = headers_from_fields(headers)?;
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// Why the exchange failed, as the router's breaker and metrics understand it: nothing
/// subscribed (NATS) means the request never reached a server.
fn attempt_error(e: &anyhow::Error) -> AttemptError {
    let not_connected = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotConnected)
    });
    if not_connected {
        AttemptError::NotSent {
            reason: "no provider is subscribed (NATS: no responders)".to_owned(),
        }
    } else {
        AttemptError::Lost {
            reason: format!("{e:#}"),
            results_started: false,
        }
    }
}

fn finish(router: &Router, opened: Opened, outcome: Outcome) -> Answer {
    let peer = opened.peer().to_owned();
    match outcome {
        Outcome::Response(a) => {
            router.close(opened, None);
            a
        }
        Outcome::Refused(code) => {
            // The handler ran and answered with an error: the provider is healthy.
            router.close(opened, None);
            let (status, kind) = match code {
                ErrorCode::HttpResponseTimeout => (StatusCode::GATEWAY_TIMEOUT, "deadline"),
                ErrorCode::ConnectionLimitReached => {
                    (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
                }
                _ => (StatusCode::BAD_GATEWAY, "remote"),
            };
            let detail = format!("node {peer} failed the request: {}", describe(&code));
            tracing::warn!(status = status.as_u16(), "{detail}");
            problem(status, kind, &detail)
        }
        Outcome::Failed(e) => {
            let (status, kind) = match &e {
                AttemptError::Deadline { .. } => (StatusCode::GATEWAY_TIMEOUT, "deadline"),
                AttemptError::NotSent { .. } => (StatusCode::SERVICE_UNAVAILABLE, "no-provider"),
                _ => (StatusCode::BAD_GATEWAY, "remote-unreachable"),
            };
            let detail = format!("forwarding to node {peer} failed: {e}");
            router.close(opened, Some(&e));
            tracing::warn!(status = status.as_u16(), "{detail}");
            problem(status, kind, &detail)
        }
    }
}
