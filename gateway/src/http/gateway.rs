//! The HTTP/JSON gateway: `POST /v1/call/{instance}/{function}` with the parameters as JSON
//! (an object of named parameters, or an array of positional ones) is decoded and
//! type-checked against the function's WIT, sent through this node's router (a local
//! component, a route or a discovered peer), and answered with a JSON object of results.
//! Failures are `application/problem+json` with the status of their kind: 400 for a value
//! that does not match the WIT (with its path), 404 for an unknown instance or function, 413
//! for a body over the limit, 503 when no provider is available, 504 on a deadline, 502 when
//! the provider failed the call. A `list<u8>` that is the only parameter (or result) can be
//! sent (or asked for, with `Accept`) as a raw `application/octet-stream` body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value as Json};
use tracing::Instrument as _;
use witmesh_proto::codec::Limits;
use witmesh_proto::text::json;
use witmesh_proto::{Func, Ty, Value};

use super::response::{bytes, json as json_answer, problem, Answer, BodyError, Problem};
use super::server::{Handler, HttpServer, ListenError};
use crate::api::catalog::Catalog;
use crate::api::NodeInfo;
use crate::call::deadline::attempt_within;
use crate::call::stream::{is_byte_stream, streams_bytes, ByteStream, StreamAnswer};
use crate::client::{CallFailure, Caller, FailureKind};
use crate::host::LoadedComponent;
use crate::route::open::Purpose;
use crate::route::Router;
use crate::telemetry::{trace, TraceContext};
use futures::StreamExt as _;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use witmesh_proto::value::StreamValue;

/// How long the request body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
const OCTET_STREAM: &str = "application/octet-stream";

/// The gateway's settings and state.
pub struct Gateway {
    info: Arc<NodeInfo>,
    routes: Vec<HttpRoute>,
    catalog: Arc<Catalog>,
    caller: Caller,
    limits: Limits,
    max_body: usize,
    timeout: Duration,
}

/// Where requests that are not gateway calls go: a wasi:http component, by host and path
/// prefix.
pub struct HttpRoute {
    /// The `Host` to match (without port, lower case); any host when `None`.
    pub host: Option<String>,
    /// The path prefix.
    pub path_prefix: String,
    /// What serves the requests.
    pub target: HttpTarget,
}

/// What serves an [`HttpRoute`]'s requests.
pub enum HttpTarget {
    /// A component of this node exporting `wasi:http/incoming-handler`.
    Local(Arc<LoadedComponent>),
    /// A node of the mesh serving `wrpc:http/incoming-handler`, through the named link when
    /// set.
    Forward {
        /// The `[[mesh.links]]` entry to use.
        link: Option<String>,
    },
}

/// A bound gateway listener.
pub struct GatewayListener {
    server: HttpServer,
}

impl GatewayListener {
    /// Binds `addr` and serves the gateway until [`GatewayListener::close`].
    pub async fn start(addr: SocketAddr, gateway: Arc<Gateway>) -> Result<Self, ListenError> {
        let handler: Handler = Arc::new(move |req| {
            let gateway = gateway.clone();
            Box::pin(async move { gateway.handle(req).await })
        });
        Ok(GatewayListener {
            server: HttpServer::start("HTTP gateway requests", addr, handler).await?,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr
    }

    /// Stops accepting; calls in progress get up to `grace` to finish.
    pub async fn close(self, grace: Duration) {
        self.server.close(grace).await;
    }
}

/// A failed request: its status, kind and detail.
struct Refusal {
    kind: Problem,
    detail: String,
}

impl Refusal {
    fn new(kind: Problem, detail: impl Into<String>) -> Self {
        Refusal {
            kind,
            detail: detail.into(),
        }
    }

    fn call(f: &CallFailure) -> Self {
        Refusal::new(Problem::Call(f.kind), f.message.clone())
    }
}

impl Gateway {
    /// A gateway calling through `router` with the types of `catalog`, answering about
    /// `info`, with the request bounds of `[http]` and `[limits]`.
    pub fn new(
        info: Arc<NodeInfo>,
        catalog: Arc<Catalog>,
        router: Arc<Router>,
        limits: Limits,
        max_body: usize,
        timeout: Duration,
    ) -> Self {
        Gateway {
            info,
            routes: Vec::new(),
            catalog,
            caller: Caller::Router(router),
            limits,
            max_body,
            timeout,
        }
    }

    /// Serves `routes` (wasi:http components) beside the gateway's own endpoints.
    #[must_use]
    pub fn with_routes(mut self, routes: Vec<HttpRoute>) -> Self {
        self.routes = routes;
        self
    }

    /// The route for a request to `host` and `path`: the longest matching prefix, a route
    /// naming the host before one for any host.
    fn route(&self, host: Option<&str>, path: &str) -> Option<&HttpRoute> {
        let host = host.map(|h| {
            h.rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(name, _)| name)
                .to_ascii_lowercase()
        });
        self.routes
            .iter()
            .filter(|r| path.starts_with(&r.path_prefix))
            .filter(|r| r.host.is_none() || r.host == host)
            .max_by_key(|r| (r.path_prefix.len(), r.host.is_some()))
    }

    /// Hands the request to a wasi:http component; its response streams back.
    async fn serve_component(&self, route: &HttpRoute, req: Request<Incoming>) -> Answer {
        let component = match &route.target {
            HttpTarget::Local(c) => c,
            HttpTarget::Forward { link } => {
                let Caller::Router(router) = &self.caller else {
                    return problem(
                        Problem::Call(FailureKind::Unavailable),
                        "this gateway cannot forward requests",
                    );
                };
                return super::forward::forward(router, link.as_deref(), req).await;
            }
        };
        match component.handle_http(Scheme::Http, req, None).await {
            Ok(response) => response.map(|body| {
                body.map_err(|e| -> BodyError { format!("{e:?}").into() })
                    .boxed_unsync()
            }),
            Err(e) => {
                // A wasi:http handler's own failure: no room or no time, else it failed.
                let kind = Problem::Call(FailureKind::of_class(e.class()));
                tracing::warn!(
                    component = &*component.name,
                    status = kind.status().as_u16(),
                    "wasi:http request failed: {e}"
                );
                problem(
                    kind,
                    &format!("component {} failed the request: {e}", component.name),
                )
            }
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Answer {
        let path = req.uri().path().to_owned();
        let traceparent = req
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|v| valid_traceparent(v))
            .map(str::to_owned);
        let span = tracing::info_span!(
            "http.server",
            otel.name = %format!("{} {}", req.method(), path.chars().take(128).collect::<String>()),
            otel.kind = "server",
            http.request.method = %req.method(),
            url.path = path.as_str(),
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        TraceContext::from_headers(|n| req.headers().get(n).and_then(|v| v.to_str().ok()))
            .adopt(&span);
        span.record("trace_id", trace::trace_id(&span).as_str());
        let mut answer = self
            .route_request(&path, req)
            .instrument(span.clone())
            .await;
        span.record("http.response.status_code", answer.status().as_u16());
        if answer.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        // The caller's trace context comes back on the answer.
        if let Some(tp) = traceparent.and_then(|t| hyper::header::HeaderValue::from_str(&t).ok()) {
            answer.headers_mut().insert("traceparent", tp);
        }
        answer
    }

    async fn route_request(&self, path: &str, req: Request<Incoming>) -> Answer {
        let answer = match (req.method(), path.strip_prefix("/v1/call/")) {
            (&Method::POST, Some(rest)) => match self.call(rest, req).await {
                Ok(a) => a,
                Err(r) => {
                    tracing::info!(
                        status = r.kind.status().as_u16(),
                        kind = r.kind.as_str(),
                        "gateway call refused: {}",
                        r.detail
                    );
                    problem(r.kind, &r.detail)
                }
            },
            (_, Some(_)) => problem(
                Problem::Method,
                "calls are POST /v1/call/{instance}/{function} with a JSON body",
            ),
            (&Method::GET, None) if path == "/v1/instances" => {
                json_answer(StatusCode::OK, &self.info.instances())
            }
            (&Method::GET, None) if path == "/v1/openapi.json" => {
                let entries = self.catalog.entries().await;
                let doc = super::openapi::document(&self.info.status().node, &entries);
                json_answer(StatusCode::OK, &doc)
            }
            _ if !self.routes.is_empty() => {
                let host = req
                    .headers()
                    .get(hyper::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .or_else(|| req.uri().host().map(str::to_owned));
                match self.route(host.as_deref(), path) {
                    Some(route) => self.serve_component(route, req).await,
                    None => problem(
                        Problem::NotFound,
                        &format!(
                            "no route for `{}` on this listener (see [[http.routes]])",
                            path.chars().take(128).collect::<String>()
                        ),
                    ),
                }
            }
            _ => problem(
                Problem::NotFound,
                &format!(
                    "no gateway endpoint `{}`; calls are POST /v1/call/{{instance}}/{{function}}",
                    path.chars().take(128).collect::<String>()
                ),
            ),
        };
        answer
    }

    async fn call(&self, rest: &str, req: Request<Incoming>) -> Result<Answer, Refusal> {
        let rest = percent_decode(rest).ok_or_else(|| {
            Refusal::new(
                Problem::BadPath,
                "the path is not valid percent-encoded UTF-8",
            )
        })?;
        let Some((instance, function)) = rest
            .rsplit_once('/')
            .filter(|(i, f)| !i.is_empty() && !f.is_empty())
        else {
            return Err(Refusal::new(
                Problem::Call(FailureKind::Unknown),
                format!("`/v1/call/{rest}` names no function: use /v1/call/{{instance}}/{{function}}, e.g. /v1/call/local:greeter-demo/greet/greet"),
            ));
        };
        let raw_in = content_type_is(&req, OCTET_STREAM);
        let raw_out = req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(OCTET_STREAM));
        let func = self.func(instance, function).await?;
        if streams_bytes(&func) {
            return self.call_streaming(&func, raw_in, raw_out, req).await;
        }
        if super::openapi::passes_handles(&func) {
            return Err(Refusal::new(
                Problem::Unsupported,
                format!("`{}` passes resource handles, futures or streams, which only connected wRPC peers can exchange; call it over wRPC from a program that holds the connection", func.signature),
            ));
        }
        let body = self.body(req).await?;
        let target = format!("{instance}.{function}");
        let params = if raw_in {
            match func.params.as_ref() {
                [ty] if is_bytes(ty) => vec![Value::Bytes(body)],
                _ => {
                    return Err(Refusal::new(
                Problem::MediaType,
                        format!("{target}: a raw {OCTET_STREAM} body is only for a function whose one parameter is list<u8> or stream<u8>; `{}` takes JSON", func.signature),
                    ))
                }
            }
        } else {
            params_from_json(&func, &target, &body)?
        };
        let results = self
            .caller
            .call(&func, params, self.limits, self.timeout)
            .await
            .map_err(|e| Refusal::call(&e))?;
        Ok(results_answer(&func, &results, raw_out))
    }

    /// A call of a function whose one parameter or one result is a `stream<u8>`: the request
    /// body streams into the parameter, or the result streams out as the response body.
    async fn call_streaming(
        &self,
        func: &Func,
        raw_in: bool,
        raw_out: bool,
        req: Request<Incoming>,
    ) -> Result<Answer, Refusal> {
        let target = format!("{}.{}", func.instance, func.name);
        let Caller::Router(router) = &self.caller else {
            return Err(Refusal::new(
                Problem::Unsupported,
                format!("{target}: this gateway cannot stream"),
            ));
        };
        let (params, mut input) = if is_byte_stream(&func.params) {
            if !raw_in {
                return Err(Refusal::new(
                Problem::MediaType,
                    format!("{target}: its one parameter is a stream<u8>: send the bytes as a raw {OCTET_STREAM} body (`{}`)", func.signature),
                ));
            }
            let body = req.into_body().into_data_stream().map(|frame| {
                frame.map_err(|e| std::io::Error::new(std::io::ErrorKind::BrokenPipe, e))
            });
            let input: ByteStream = Box::pin(body);
            (vec![Value::Stream(StreamValue::Pending)], Some(input))
        } else {
            let body = self.body(req).await?;
            (params_from_json(func, &target, &body)?, None)
        };
        let mut opened = router
            .open("http", &func.instance, &func.name, None, Purpose::Values)
            .await
            .map_err(|e| Refusal::call(&CallFailure::from_forward(&target, &e)))?;
        let provided = opened.provided().to_owned();
        let limits = self.limits;
        let run = opened
            .invoker
            .call_bytes_stream(&provided, func, params, &mut input, false, limits);
        let result = attempt_within(opened.deadline, run).await;
        let peer = opened.peer().to_owned();
        router.close(opened, result.as_ref().err());
        match result {
            Ok(StreamAnswer::Stream(data)) => {
                let body = http_body_util::StreamBody::new(data.map(|d| {
                    d.map(hyper::body::Frame::data)
                        .map_err(|e| -> BodyError { Box::new(e) })
                }));
                let mut answer = hyper::Response::new(body.boxed_unsync());
                answer.headers_mut().insert(
                    CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static(OCTET_STREAM),
                );
                Ok(answer)
            }
            Ok(StreamAnswer::Values(results)) => Ok(results_answer(func, &results, raw_out)),
            Err(e) => Err(Refusal::call(&CallFailure::from_attempt(
                &format!("{target} via node {peer}"),
                &e,
            ))),
        }
    }

    /// The body, bounded in size and time.
    async fn body(&self, req: Request<Incoming>) -> Result<Bytes, Refusal> {
        let too_large = || {
            Refusal::new(
                Problem::TooLarge,
                format!(
                    "the body is over the {}-byte limit (`http.max_body_bytes`)",
                    self.max_body
                ),
            )
        };
        if let Some(n) = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if n > self.max_body as u64 {
                return Err(too_large());
            }
        }
        let collected = tokio::time::timeout(
            BODY_TIMEOUT,
            Limited::new(req.into_body(), self.max_body).collect(),
        )
        .await
        .map_err(|_| {
            Refusal::new(
                Problem::SlowBody,
                format!("the body did not arrive within {BODY_TIMEOUT:?}"),
            )
        })?;
        match collected {
            Ok(c) => Ok(c.to_bytes()),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(too_large())
            }
            Err(e) => Err(Refusal::new(
                Problem::BadBody,
                format!("cannot read the body: {e}"),
            )),
        }
    }

    /// The function's types, from the catalog.
    async fn func(&self, instance: &str, function: &str) -> Result<Func, Refusal> {
        self.catalog.func(instance, function).await.map_err(|e| {
            Refusal::new(
                Problem::Call(FailureKind::of_class(e.class())),
                e.to_string(),
            )
        })
    }
}

fn is_bytes(ty: &Ty) -> bool {
    matches!(ty, Ty::List(inner) if matches!(inner.as_ref(), Ty::U8))
}

fn content_type_is(req: &Request<Incoming>, what: &str) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim() == what))
}

/// Whether `v` is a W3C `traceparent` (version 00: `00-<32 hex>-<16 hex>-<2 hex>`).
fn valid_traceparent(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1] != "0".repeat(32)
        && parts[2] != "0".repeat(16)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The parameters of `func` from a JSON body (an object of named ones or an array).
fn params_from_json(func: &Func, target: &str, body: &[u8]) -> Result<Vec<Value>, Refusal> {
    let doc: Json = if body.is_empty() && func.params.is_empty() {
        Json::Array(Vec::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            Refusal::new(
                Problem::BadJson,
                format!("{target}: the body is not JSON: {e}"),
            )
        })?
    };
    json::values_from_json(&func.params, &func.param_names, &func.param_labels, &doc).map_err(|e| {
        Refusal::call(&CallFailure::bad_value(
            target,
            format!("{e} (the function is `{}`)", func.signature),
        ))
    })
}

/// The answer carrying `results`: a lone `list<u8>` raw when `raw_out` asks for it, else a
/// JSON object of the results by name.
fn results_answer(func: &Func, results: &[Value], raw_out: bool) -> Answer {
    if raw_out {
        if let ([ty], [Value::Bytes(b)]) = (func.results.as_ref(), results) {
            if is_bytes(ty) {
                return bytes(StatusCode::OK, OCTET_STREAM, b.clone());
            }
        }
    }
    let mut out = Map::new();
    for ((ty, label), v) in func
        .results
        .iter()
        .zip(func.result_labels.iter())
        .zip(results)
    {
        let name = label.strip_prefix("result ").unwrap_or(label);
        out.insert(name.to_owned(), json::to_json(ty, v));
    }
    json_answer(StatusCode::OK, &Json::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_decode_and_trace_contexts_are_checked() {
        assert_eq!(
            percent_decode("local%3Agreeter-demo%2Fgreet/greet").as_deref(),
            Some("local:greeter-demo/greet/greet")
        );
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%C3"), None);
        assert_eq!(percent_decode("%4"), None);
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!valid_traceparent("00-abc-def-01"));
        assert!(!valid_traceparent(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
    }
}
