//! Serving wasi:http components on HTTP: `wasi:http/incoming-handler@0.2` and
//! `wasi:http/handler@0.3.0` (WASI 0.3 services). Each request gets a fresh instance, its
//! body streams into the component, and the component's response (status, headers, body)
//! streams back as the component writes it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::sync::oneshot;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView as _;

use super::state::CallState;
use super::{CallError, LoadedComponent};
use crate::call::deadline::by_for;

/// A wasi:http component's response body, whichever WASI release it was built for.
pub type HttpBody = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

impl LoadedComponent {
    /// Whether the component exports `wasi:http/incoming-handler@0.2` or
    /// `wasi:http/handler@0.3.0` and can serve HTTP.
    pub fn serves_http(&self) -> bool {
        self.proxy.is_some() || self.service.is_some()
    }

    /// Hands `req` to the component's wasi:http handler and returns its response once the
    /// component has set it (the body keeps streaming afterwards), or fails after the
    /// component's call timeout, or the caller's `time_left` when that is shorter. `scheme` is
    /// how the request arrived.
    pub async fn handle_http<B>(
        &self,
        scheme: Scheme,
        req: hyper::Request<B>,
        time_left: Option<Duration>,
    ) -> Result<hyper::Response<HttpBody>, CallError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let timeout = time_left.map_or(self.policy.call_timeout, |b| {
            b.min(self.policy.call_timeout)
        });
        if let Some(service) = self.service.clone() {
            return self.handle_service(service, req, timeout).await;
        }
        let Some(pre) = self.proxy.clone() else {
            return Err(CallError::Instantiate(format!(
                "component {} exports no wasi:http handler",
                self.name
            )));
        };
        let response = self.handle_proxy(pre, scheme, req, timeout).await?;
        Ok(response.map(BodyExt::boxed_unsync))
    }

    /// [`LoadedComponent::handle_http`] for a `wasi:http/incoming-handler@0.2` component.
    async fn handle_proxy<B>(
        &self,
        pre: ProxyPre<CallState>,
        scheme: Scheme,
        req: hyper::Request<B>,
        timeout: Duration,
    ) -> Result<hyper::Response<HyperOutgoingBody>, CallError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let slot = self.slot(tokio::time::Instant::now() + timeout).await?;
        let mut store = self.new_store()?;
        let (tx, rx) = oneshot::channel();
        let http = store.data_mut();
        let request = http
            .http()
            .new_incoming_request(scheme, req)
            .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        let out = http
            .http()
            .new_response_outparam(tx)
            .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        let name = self.name.clone();
        // The component keeps running after it sets the response: it writes the body.
        let task = tokio::spawn(async move {
            let _slot = slot;
            let run = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, out)
                    .await
            };
            let run = async { run.await.map_err(|e| format!("{e:#}")) };
            let body_time = timeout.max(Duration::from_secs(1)) * 4;
            by_for(body_time, run, |had| {
                format!("the handler ran past {had:?}")
            })
            .await
        });
        let head = async {
            rx.await.map(|set| {
                set.map_err(|code| format!("the component answered with the error {code:?}"))
            })
        };
        head_within(timeout, head, task, &name).await
    }
}

/// The response head a wasi:http component's `task` sends through `head`, within `timeout`.
/// Without one the task is stopped (freeing its slot), or, when the component let go of the
/// response without setting it, asked why.
pub(super) async fn head_within<R>(
    timeout: Duration,
    head: impl std::future::Future<Output = Result<Result<R, String>, oneshot::error::RecvError>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    component: &str,
) -> Result<R, CallError> {
    let head = async { head.await.map_err(|_| NoHead::Dropped) };
    match by_for(timeout, head, |_| NoHead::Late).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(why)) => {
            task.abort();
            Err(CallError::Trap(why))
        }
        Err(NoHead::Dropped) => {
            let why = match task.await {
                Ok(Ok(())) => "it returned without setting a response".to_owned(),
                Ok(Err(e)) => e,
                Err(e) => e.to_string(),
            };
            tracing::warn!(component, "wasi:http handler failed: {why}");
            Err(CallError::Trap(why))
        }
        Err(NoHead::Late) => {
            task.abort();
            Err(CallError::Deadline(timeout))
        }
    }
}

/// Why a wasi:http call has no response head.
enum NoHead {
    /// The component dropped the response without setting it.
    Dropped,
    /// The head did not come within the call's time.
    Late,
}
