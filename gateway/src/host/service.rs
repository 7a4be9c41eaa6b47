//! Serving WASI 0.3 `wasi:http/handler@0.3.0` services on HTTP. The handler is an `async
//! func` returning a response whose body is a `stream<u8>` the component may go on writing
//! after it returns, so the instance runs in a task of its own, under the store's event loop,
//! until the response body has been read to its end or dropped.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::WasiHttpView as _;

use super::incoming::{head_within, HttpBody};
use super::state::CallState;
use super::{CallError, LoadedComponent};
use crate::call::deadline::by_for;

/// A response head, or why the component gave none.
type Head = Result<hyper::Response<HttpBody>, String>;

/// How reading the request's body ended, for the component to learn.
type RequestIo =
    Pin<Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>>;

impl LoadedComponent {
    /// [`LoadedComponent::handle_http`] for a WASI 0.3 service: the response once the
    /// component has returned it, within `timeout`; the body streams afterwards.
    pub(super) async fn handle_service<B>(
        &self,
        pre: ServicePre<CallState>,
        req: hyper::Request<B>,
        timeout: Duration,
    ) -> Result<hyper::Response<HttpBody>, CallError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let slot = self.slot(tokio::time::Instant::now() + timeout).await?;
        let mut store = self.new_store()?;
        let (tx, rx) = oneshot::channel::<Head>();
        let name = self.name.clone();
        let task = tokio::spawn(async move {
            let _slot = slot;
            let run = async move {
                let service = pre.instantiate_async(&mut store).await?;
                store
                    .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                        let (request, io) = accessor.with(|mut access| {
                            let hooks = access.get().http().hooks;
                            let (request, io) =
                                wasmtime_wasi_http::p3::Request::from_http(hooks, req);
                            (request, Box::pin(io) as RequestIo)
                        });
                        let response = match service.handle(accessor, request).await? {
                            Ok(response) => response,
                            Err(code) => {
                                let why = format!("the component answered with the error {code:?}");
                                let _ = tx.send(Err(why));
                                return Ok(());
                            }
                        };
                        let http =
                            accessor.with(|mut access| response.into_http(&mut access, io))?;
                        let (ended_tx, ended_rx) = oneshot::channel();
                        let http = http.map(|body| Watched::new(body, ended_tx).boxed_unsync());
                        let _ = tx.send(Ok(http));
                        // The event loop runs on while the body streams: the component writes it.
                        let _ = ended_rx.await;
                        Ok(())
                    })
                    .await?
            };
            let run = async { run.await.map_err(|e| format!("{e:#}")) };
            let body_time = timeout.max(Duration::from_secs(1)) * 4;
            by_for(body_time, run, |had| {
                format!("the handler ran past {had:?}")
            })
            .await
        });
        head_within(timeout, rx, task, &name).await
    }
}

/// A body that lets go of `ended` when it has been read to its end, failed, or been dropped.
struct Watched<B> {
    body: B,
    ended: Option<oneshot::Sender<()>>,
}

impl<B> Watched<B> {
    fn new(body: B, ended: oneshot::Sender<()>) -> Self {
        Watched {
            body,
            ended: Some(ended),
        }
    }
}

impl<B: Body + Unpin> Body for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.ended = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
