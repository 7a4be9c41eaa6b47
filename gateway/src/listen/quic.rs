//! The QUIC listener: TLS 1.3 connections, one bidirectional stream per invocation, dispatched
//! by the wRPC header (instance and function) to the served endpoints.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use quinn::{RecvStream, SendStream};
use tokio::io::AsyncWrite;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;
use wrpc_transport::frame::{Accept, AcceptError, ConnHandler};
use wrpc_transport::Serve as _;

use super::dispatch;
use super::frame_guard::FrameGuard;
use crate::call::Class;
use crate::host::LoadedComponent;
use crate::serve::http_bridge::HttpBridge;
use crate::serve::http_bridge::TimeLeft;
use crate::serve::{CallMeta, Endpoint, Report};
use crate::telemetry::metrics;
use crate::transport::notice::Notices;

/// wRPC's dispatcher over QUIC streams whose send side counts as in-flight work until the
/// caller has received the results, so a drain waits for delivery, not just for the handler.
/// Its receive side is guarded: frame lengths from the wire are checked before wRPC's frame
/// reader allocates for them.
type Dispatcher =
    wrpc_transport::Server<StreamCx, FrameGuard<RecvStream>, TrackedSend, DrainAwareStreams>;

/// The failure class code a handler sets for its stream (0: none), which the stream's send
/// side resets the stream with.
type FailCode = Arc<AtomicU32>;

/// What a handler knows about its stream: where its failure goes.
pub struct StreamCx {
    code: FailCode,
    notices: Notices,
    stream: u64,
}

/// A failed call's report: a notice with the message when the caller asked for notices,
/// then the class's code, which the stream is reset with.
struct QuicReport {
    code: FailCode,
    notices: Notices,
    stream: u64,
}

impl Report for QuicReport {
    fn send<'a>(
        &'a self,
        class: Class,
        node: &'a str,
        message: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.notices.send(self.stream, class, node, message).await;
            self.code.store(class.quic_code(), Ordering::Release);
        })
    }
}

impl TimeLeft for StreamCx {
    fn time_left(&self) -> Option<Duration> {
        // QUIC carries no metadata beside the call.
        None
    }
}

/// The application error code a stream is stopped with once it is done (as upstream's QUIC
/// transport does).
const STREAM_DONE: u32 = 1;

/// How long a new stream may take to name its function: a stream that never sends its header
/// must not hold a task forever.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A running QUIC listener.
pub struct QuicListener {
    /// The bound address (the real port when 0 was asked for).
    pub local_addr: SocketAddr,
    endpoint: quinn::Endpoint,
}

impl QuicListener {
    /// Binds `addr` and serves `endpoints` (and `bridge`, a wasi:http component served to
    /// other nodes' HTTP listeners) until `shutdown`; no frame may carry more than `max_frame`
    /// bytes.
    pub async fn start(
        addr: SocketAddr,
        server: quinn::ServerConfig,
        max_frame: u32,
        endpoints: &[Endpoint],
        bridge: Option<Arc<LoadedComponent>>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> anyhow::Result<Self> {
        let endpoint = quinn::Endpoint::server(server, addr)
            .with_context(|| format!("cannot listen for QUIC on {addr}"))?;
        let local_addr = endpoint.local_addr().context("no local address")?;
        let wrpc = Arc::new(Dispatcher::new());
        for ep in endpoints {
            let func = ep.func();
            let invocations = wrpc
                .serve(&func.instance, &func.name, ep.param_paths())
                .await
                .with_context(|| format!("cannot serve `{}.{}`", func.instance, func.name))?;
            let meta = |cx: StreamCx| CallMeta {
                time_left: None,
                report: Some(Box::new(QuicReport {
                    code: cx.code,
                    notices: cx.notices,
                    stream: cx.stream,
                })),
                transport: metrics::Wire::Quic,
                trace: Default::default(),
            };
            dispatch(
                ep.clone(),
                invocations,
                meta,
                shutdown.clone(),
                tracker.clone(),
            );
        }
        if let Some(component) = bridge {
            HttpBridge::new(component, metrics::Wire::Quic)
                .serve(&*wrpc, shutdown.clone(), tracker.clone())
                .await
                .context("cannot serve wrpc:http")?;
        }
        tracker.spawn(accept_connections(
            endpoint.clone(),
            wrpc,
            max_frame,
            shutdown,
            tracker.clone(),
        ));
        Ok(QuicListener {
            local_addr,
            endpoint,
        })
    }

    /// Closes the endpoint once in-flight calls are done.
    pub async fn close(self) {
        self.endpoint.close(0u32.into(), b"witmesh shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}

async fn accept_connections(
    endpoint: quinn::Endpoint,
    wrpc: Arc<Dispatcher>,
    max_frame: u32,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let incoming = tokio::select! {
            () = shutdown.cancelled() => break,
            incoming = endpoint.accept() => incoming,
        };
        let Some(incoming) = incoming else { break };
        let (wrpc, shutdown) = (wrpc.clone(), shutdown.clone());
        let streams = tracker.clone();
        tracker.spawn(async move {
            match incoming.await {
                Ok(conn) => accept_streams(conn, wrpc, max_frame, shutdown, streams).await,
                Err(e) => tracing::debug!("QUIC handshake failed: {e}"),
            }
        });
    }
    // No new connections; existing ones stop taking streams through `shutdown` as well.
    endpoint.set_server_config(None);
}

async fn accept_streams(
    conn: quinn::Connection,
    wrpc: Arc<Dispatcher>,
    max_frame: u32,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let peer = conn.remote_address();
    let notices = Notices::watch(&conn);
    loop {
        let streams = tokio::select! {
            () = shutdown.cancelled() => break,
            streams = conn.accept_bi() => streams,
        };
        let Ok((tx, rx)) = streams else { break };
        let wrpc = wrpc.clone();
        let token = tracker.token();
        let cx = StreamCx {
            code: FailCode::default(),
            notices: notices.clone(),
            stream: u64::from(tx.id()),
        };
        // Read each header in its own task so one slow stream cannot stall the connection.
        tokio::spawn(async move {
            let code = cx.code.clone();
            let tx = TrackedSend {
                inner: tx,
                code: code.clone(),
                _token: token,
            };
            let rx = FrameGuard::new(rx, max_frame);
            let one = OneStream(Mutex::new(Some((cx, tx, rx))));
            match tokio::time::timeout(HEADER_TIMEOUT, wrpc.accept(one)).await {
                Ok(Ok(())) => {}
                Ok(Err(AcceptError::UnhandledFunction { instance, name })) => {
                    // Names from the wire that are not served here count as `other`.
                    metrics::global().call(
                        &metrics::Call {
                            instance: metrics::OTHER,
                            function: metrics::OTHER,
                            direction: metrics::Direction::Inbound,
                            transport: metrics::Wire::Quic,
                            peer: "",
                            outcome: Some(Class::UnknownFunction),
                        },
                        Duration::ZERO,
                    );
                    tracing::warn!(%peer, instance, function = name, "call failed: unknown function `{name}` in `{instance}`");
                }
                Ok(Err(e)) => tracing::warn!(%peer, "invalid invocation header: {e}"),
                Err(_) => {
                    tracing::warn!(%peer, "stream sent no invocation header within {HEADER_TIMEOUT:?}")
                }
            }
        });
    }
}

/// One already-accepted stream pair, presented to wRPC's dispatcher.
struct OneStream(Mutex<Option<(StreamCx, TrackedSend, FrameGuard<RecvStream>)>>);

impl Accept for OneStream {
    type Context = StreamCx;
    type Outgoing = TrackedSend;
    type Incoming = FrameGuard<RecvStream>;

    async fn accept(&self) -> std::io::Result<(StreamCx, TrackedSend, FrameGuard<RecvStream>)> {
        self.0
            .lock()
            .await
            .take()
            .ok_or_else(|| std::io::Error::other("stream already taken"))
    }
}

/// A stream's send side that holds a drain token until it is dropped, and the failure code
/// its call's handler may set.
pub struct TrackedSend {
    inner: SendStream,
    code: FailCode,
    _token: TaskTrackerToken,
}

impl AsyncWrite for TrackedSend {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(&mut self.inner), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(&mut self.inner), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // A failed call ends with a reset carrying its class, never with a clean finish: a
        // finish sent first could reach the caller before the reset and read as a plain end.
        let code = self.code.load(Ordering::Acquire);
        if code != 0 {
            let _ = self.inner.reset(code.into());
            return Poll::Ready(Ok(()));
        }
        AsyncWrite::poll_shutdown(Pin::new(&mut self.inner), cx)
    }
}

/// Finishes streams as upstream's QUIC transport does, and keeps a served stream counted as
/// in flight until the caller has taken all of its results.
pub struct DrainAwareStreams;

impl ConnHandler<FrameGuard<RecvStream>, TrackedSend> for DrainAwareStreams {
    async fn on_ingress(rx: FrameGuard<RecvStream>, res: std::io::Result<()>) {
        if let Err(e) = res {
            tracing::debug!("reading a call's stream failed: {e}");
        }
        let _ = rx.into_inner().stop(STREAM_DONE.into());
    }

    async fn on_egress(mut tx: TrackedSend, res: std::io::Result<()>) {
        if let Err(e) = res {
            tracing::debug!("writing a call's results failed: {e}");
        }
        // A failed call: tell the caller its class with the reset code (witmesh callers read
        // it; others see a reset, as upstream servers give them).
        let code = tx.code.load(Ordering::Acquire);
        if code != 0 {
            let _ = tx.inner.reset(code.into());
            return;
        }
        // The caller stops the stream once it has read everything; until then the results
        // are in flight. Dropping `tx` afterwards releases its drain token.
        let _ = tx.inner.stopped().await;
    }
}
