//! Serving a wasi:http component to HTTP listeners on other nodes: its handler is served as
//! `wrpc:http/incoming-handler.handle`, with the request and response bodies streaming over
//! the wRPC transport in both directions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use http_body_util::BodyExt as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wasmtime_wasi_http::p2::bindings::http::types::{
    ErrorCode as HostErrorCode, Scheme as HostScheme,
};
use wrpc_transport::Serve;

use crate::call::Class;
use crate::host::{CallError, LoadedComponent};
use crate::interfaces::wrpc_http::{
    self, body_from_wire, body_to_wire, fields_from_headers, headers_from_fields, method_from_wire,
    ErrorCode, Request, Response, Scheme,
};
use crate::telemetry::metrics;

/// A wasi:http component served as a `wrpc:http` handler over one transport.
#[derive(Clone)]
pub struct HttpBridge {
    component: Arc<LoadedComponent>,
    transport: metrics::Wire,
}

impl HttpBridge {
    /// Serves `component`'s wasi:http handler to calls arriving over `transport`.
    pub fn new(component: Arc<LoadedComponent>, transport: metrics::Wire) -> Self {
        HttpBridge {
            component,
            transport,
        }
    }

    /// Serves the handler on `wrpc` until `shutdown`, each call in its own task on `tracker`.
    pub async fn serve<S>(
        self,
        wrpc: &S,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> anyhow::Result<()>
    where
        S: Serve,
        S::Context: TimeLeft,
    {
        let name = self.component.name.clone();
        let [(_, _, invocations)] = wrpc_http::serve_interface(wrpc, self).await?;
        tracing::info!(
            component = &*name,
            "serving {}.{} for HTTP listeners elsewhere",
            wrpc_http::INSTANCE,
            wrpc_http::FUNCTION
        );
        tracker.spawn(run(invocations, shutdown, tracker.clone()));
        Ok(())
    }

    async fn answer(
        &self,
        request: Request,
        time_left: Option<Duration>,
    ) -> Result<Response, ErrorCode> {
        let scheme = match &request.scheme {
            Some(Scheme::Https) => HostScheme::Https,
            Some(Scheme::Other(s)) => HostScheme::Other(s.clone()),
            Some(Scheme::Http) | None => HostScheme::Http,
        };
        let req = to_hyper(request).map_err(|e| {
            tracing::warn!(
                component = &*self.component.name,
                "a wrpc:http request is not valid HTTP: {e}"
            );
            ErrorCode::HttpProtocolError
        })?;
        let response = self
            .component
            .handle_http(scheme, req, time_left)
            .await
            .map_err(|e| error_code(&self.component.name, &e))?;
        let (parts, body) = response.into_parts();
        let (body, trailers) = body_to_wire(body);
        Ok(Response {
            body,
            trailers,
            status: parts.status.as_u16(),
            headers: fields_from_headers(&parts.headers),
        })
    }
}

/// What a transport's call context says about the caller's remaining time.
pub trait TimeLeft {
    /// The time the caller has left for the call, when it said.
    fn time_left(&self) -> Option<Duration>;
}

impl<Ctx: TimeLeft + Send> wrpc_http::Handler<Ctx> for HttpBridge {
    async fn handle(
        &self,
        cx: Ctx,
        request: Request,
    ) -> anyhow::Result<Result<Response, ErrorCode>> {
        let m = metrics::global();
        let _running = m.running(
            wrpc_http::INSTANCE,
            wrpc_http::FUNCTION,
            metrics::Direction::Inbound,
        );
        let started = Instant::now();
        let result = self.answer(request, cx.time_left()).await;
        let outcome = match &result {
            Ok(_) => None,
            Err(ErrorCode::HttpResponseTimeout) => Some(Class::Deadline),
            Err(ErrorCode::ConnectionLimitReached) => Some(Class::Overloaded),
            Err(ErrorCode::HttpProtocolError) => Some(Class::BadParams),
            Err(_) => Some(Class::Trap),
        };
        if let Err(e) = &result {
            tracing::warn!(
                component = &*self.component.name,
                "wasi:http request from another node failed: {}",
                wrpc_http::describe(e)
            );
        }
        m.call(
            &metrics::Call {
                instance: wrpc_http::INSTANCE,
                function: wrpc_http::FUNCTION,
                direction: metrics::Direction::Inbound,
                transport: self.transport,
                peer: "",
                outcome,
            },
            started.elapsed(),
        );
        Ok(result)
    }
}

/// The request as the component's host takes it; the body streams in as it arrives.
fn to_hyper(
    request: Request,
) -> Result<
    hyper::Request<
        impl hyper::body::Body<Data = bytes::Bytes, Error = HostErrorCode> + Send + 'static,
    >,
    wrpc_http::MessageError,
> {
    let Request {
        body,
        trailers,
        method,
        path_with_query,
        scheme,
        authority,
        headers,
    } = request;
    let mut uri = hyper::Uri::builder();
    if let Some(authority) = &authority {
        uri = uri.scheme(match &scheme {
            Some(Scheme::Https) => "https",
            _ => "http",
        });
        uri = uri.authority(authority.as_str());
    }
    let uri = uri
        .path_and_query(path_with_query.as_deref().unwrap_or("/"))
        .build()
        .map_err(|e| wrpc_http::MessageError::Uri(e.to_string()))?;
    let mut req = hyper::Request::new(
        body_from_wire(body, trailers, None)
            .map_err(|e| HostErrorCode::InternalError(Some(e.to_string()))),
    );
    *req.method_mut() = method_from_wire(method)?;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers_from_fields(headers)?;
    Ok(req)
}

/// How a failed call reaches the HTTP listener's node: as the wasi:http error code that
/// says the most, with the component's message where it has one.
fn error_code(component: &str, e: &CallError) -> ErrorCode {
    match e {
        CallError::Deadline(_) => ErrorCode::HttpResponseTimeout,
        CallError::Overloaded { .. } => ErrorCode::ConnectionLimitReached,
        other => ErrorCode::InternalError(Some(format!(
            "{} in component {component}: {other}",
            other.class()
        ))),
    }
}

/// One accepted call, to be run to its end.
type Call = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
/// The calls arriving for the handler.
type Invocations = Pin<Box<dyn Stream<Item = anyhow::Result<Call>> + Send>>;

/// Runs each invocation in its own task until shutdown.
async fn run(mut invocations: Invocations, shutdown: CancellationToken, tracker: TaskTracker) {
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            next = invocations.next() => next,
        };
        match next {
            Some(Ok(call)) => {
                tracker.spawn(async move {
                    if let Err(e) = call.await {
                        tracing::debug!("wrpc:http call ended early: {e:#}");
                    }
                });
            }
            Some(Err(e)) => tracing::warn!("wrpc:http invocation could not be accepted: {e:#}"),
            None => break,
        }
    }
}
