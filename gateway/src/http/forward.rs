//! Forwarding HTTP requests to a wasi:http component on another node: the request goes out
//! as a `wrpc:http/incoming-handler.handle` call with its body streaming behind it, and the
//! response streams back the same way.

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::header::{HeaderName, CONNECTION, HOST};
use hyper::{HeaderMap, Request, StatusCode};
use wrpc_transport::Invoke;

use super::response::{problem, Answer, BodyError, Problem};
use crate::call::deadline::attempt_within;
use crate::call::{AttemptError, Class, RemoteFailure};
use crate::client::{CallFailure, FailureKind};
use crate::interfaces::wrpc_http::{
    self, body_from_wire, body_to_wire, describe, fields_from_headers, headers_from_fields,
    method_to_wire, ErrorCode, Scheme,
};
use crate::route::open::{Invoker, Opened, Purpose};
use crate::route::Router;
use crate::transport::call::not_taken;

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

/// Removes hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Sends `req` to a node serving `wrpc:http/incoming-handler` (through `link` when set) and
/// answers with that node's response as it streams in.
pub async fn forward(
    router: &std::sync::Arc<Router>,
    link: Option<&str>,
    req: Request<Incoming>,
) -> Answer {
    let target = format!("{}.{}", wrpc_http::INSTANCE, wrpc_http::FUNCTION);
    // The bindings call the instance by its exact name: only a provider of that version can
    // take the call.
    let opened = match router
        .open(
            "http",
            wrpc_http::INSTANCE,
            wrpc_http::FUNCTION,
            link,
            Purpose::Http,
        )
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("cannot forward an HTTP request: {e}");
            return refuse(&CallFailure::from_forward(&target, &e));
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
    strip_hop_by_hop(&mut headers);
    let (body, trailers) = body_to_wire(body);
    let request = wrpc_http::Request {
        body,
        trailers,
        method: method_to_wire(&parts.method),
        path_with_query: parts.uri.path_and_query().map(|p| p.as_str().to_owned()),
        scheme: Some(match parts.uri.scheme_str() {
            Some("https") => Scheme::Https,
            _ => Scheme::Http,
        }),
        authority,
        headers: fields_from_headers(&headers),
    };
    let deadline = opened.deadline;
    let outcome = match &opened.invoker {
        Invoker::Nats {
            client, headers, ..
        } => exchange(&**client, Some(headers.clone()), request, deadline).await,
        Invoker::Quic(stream) => exchange(stream, (), request, deadline).await,
        // Never chosen for wrpc:http: the gateway's routes serve this node's components.
        Invoker::Local { .. } => Outcome::Failed(AttemptError::NotSent {
            reason: "a wasi:http request cannot be forwarded to this node's own component"
                .to_owned(),
        }),
    };
    finish(router, opened, &target, outcome)
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
    let call = async {
        wrpc_http::handle(client, cx, request)
            .await
            .map_err(|e| attempt_error(&e))
    };
    let (result, io) = match attempt_within(deadline, call).await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    // The rest of the exchange (the request body going out, the response body coming in)
    // runs on its own; when it fails, the response body ends in an error so that the client
    // does not take a cut body for a whole one (a failure on either side stops both).
    let (done, outcome) = tokio::sync::oneshot::channel();
    if let Some(io) = io {
        tokio::spawn(async move {
            let result = io.await.map_err(|e| format!("{e:#}"));
            if let Err(e) = &result {
                tracing::debug!("a forwarded HTTP exchange ended early: {e}");
            }
            let _ = done.send(result);
        });
    }
    match result {
        Ok(response) => match to_answer(response, outcome) {
            Ok(a) => Outcome::Response(a),
            Err(e) => Outcome::Failed(AttemptError::BadResults {
                reason: e.to_string(),
            }),
        },
        Err(code) => Outcome::Refused(code),
    }
}

fn to_answer(
    response: wrpc_http::Response,
    outcome: tokio::sync::oneshot::Receiver<Result<(), String>>,
) -> Result<Answer, wrpc_http::MessageError> {
    let wrpc_http::Response {
        body,
        trailers,
        status,
        headers,
    } = response;
    let mut answer = hyper::Response::new(
        body_from_wire(body, trailers, Some(outcome))
            .map_err(|e| -> BodyError { Box::new(e) })
            .boxed_unsync(),
    );
    *answer.status_mut() =
        StatusCode::from_u16(status).map_err(|_| wrpc_http::MessageError::Status(status))?;
    let mut headers = headers_from_fields(headers)?;
    strip_hop_by_hop(&mut headers);
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// Why the exchange failed, as the router's breaker and metrics understand it: nothing
/// subscribed (NATS) means the request never reached a server.
fn attempt_error(e: &anyhow::Error) -> AttemptError {
    let io = e
        .chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .find(|io| io.kind() == std::io::ErrorKind::NotConnected);
    match io {
        Some(io) => not_taken(io),
        None => AttemptError::Lost {
            reason: format!("{e:#}"),
            results_started: false,
        },
    }
}

fn refuse(f: &CallFailure) -> Answer {
    let kind = Problem::Call(f.kind);
    tracing::warn!(status = kind.status().as_u16(), "{}", f.message);
    problem(kind, &f.message)
}

fn finish(router: &Router, opened: Opened, target: &str, outcome: Outcome) -> Answer {
    let peer = opened.peer().to_owned();
    match outcome {
        Outcome::Response(a) => {
            router.close(opened, None);
            a
        }
        Outcome::Refused(code) => {
            let class = match code {
                ErrorCode::HttpResponseTimeout => Class::Deadline,
                ErrorCode::ConnectionLimitReached => Class::Overloaded,
                ErrorCode::HttpProtocolError => Class::BadParams,
                _ => Class::Trap,
            };
            let kind = FailureKind::of_class(class);
            let message = format!("node {peer} failed the request: {}", describe(&code));
            router.close(
                opened,
                Some(&AttemptError::Remote(RemoteFailure {
                    class,
                    node: peer,
                    message: message.clone(),
                })),
            );
            refuse(&CallFailure {
                kind,
                class: Some(class),
                message,
            })
        }
        Outcome::Failed(e) => {
            router.close(opened, Some(&e));
            refuse(&CallFailure::from_attempt(target, &e))
        }
    }
}
