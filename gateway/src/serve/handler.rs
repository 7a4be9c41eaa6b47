//! listener → decode/type-check → call → encode, for one invocation.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tracing::Instrument as _;
use witmesh_proto::codec::{encode_values, read_values, EncodeError, ReadError, ValuesDecoder};
use witmesh_proto::value::StreamValue;
use witmesh_proto::Value;

use super::{Endpoint, Implementation};
use crate::call::deadline::by;
use crate::call::stream::{is_byte_stream, stream_of, write_stream, ByteStream};
use crate::call::Class;
use crate::host::CallError;
use crate::telemetry::metrics::{self, Call};
use crate::telemetry::{trace, TraceContext};
use wrpc_transport::Index;

/// Why an invocation failed. The log says why; witmesh callers are told the class and the
/// message ([`Report`]); other callers see the stream end without results.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The parameters were not valid for the function's types.
    #[error("bad parameters: {0}")]
    Params(#[from] ReadError),
    /// The parameters did not arrive before the call's deadline.
    #[error("parameters did not arrive within {0:?}")]
    ParamsTimeout(std::time::Duration),
    /// The component failed the call.
    #[error("{0}")]
    Call(#[from] CallError),
    /// The component's results did not match its own WIT.
    #[error("results do not match the function's type: {0}")]
    Results(#[from] EncodeError),
    /// Writing the results failed (the caller went away).
    #[error("cannot send results: {0}")]
    Write(#[from] std::io::Error),
    /// The parameter stream could not be opened or carried something other than bytes.
    #[error("bad parameter stream: {0}")]
    Stream(String),
    /// The result stream was cut after the results went out.
    #[error("the result stream was cut: {0}")]
    ResultStream(String),
}

impl ServeError {
    /// The failure's class: logged, counted, and told to witmesh callers.
    pub fn class(&self) -> Class {
        match self {
            ServeError::Params(_) | ServeError::ParamsTimeout(_) | ServeError::Stream(_) => {
                Class::BadParams
            }
            ServeError::ResultStream(_) => Class::Lost,
            ServeError::Call(e) => e.class(),
            ServeError::Results(_) => Class::BadResults,
            ServeError::Write(_) => Class::Lost,
        }
    }
}

/// How the listener that received a call tells a witmesh caller why it failed (over NATS a
/// message to the caller's report subject, over QUIC a notice and a reset code). Listeners
/// supply one only when the caller asked; upstream wRPC peers get none.
pub trait Report: Send + Sync {
    /// Tells the caller that `node` failed its call with `class`, saying `message`.
    fn send<'a>(
        &'a self,
        class: Class,
        node: &'a str,
        message: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;
}

/// What a transport carries beside an invocation.
#[derive(Default)]
pub struct CallMeta {
    /// The caller's remaining deadline, when it sent one.
    pub time_left: Option<Duration>,
    /// Where to report a failure, when the caller asked.
    pub report: Option<Box<dyn Report>>,
    /// The transport it came over, for metrics (`nats`, `quic`).
    pub transport: metrics::Wire,
    /// The caller's trace context (NATS headers; QUIC carries none).
    pub trace: TraceContext,
}

/// Serves one invocation of `ep` whose parameters arrive on `rx`; results go to `tx`.
/// Failures are logged here with component, function and reason, and reported to the caller
/// when it asked.
pub async fn handle<R, W>(ep: &Endpoint, meta: CallMeta, rx: R, mut tx: W) -> Result<(), ServeError>
where
    R: AsyncRead + Index<R> + Unpin + Send + 'static,
    W: AsyncWrite + Index<W> + Unpin,
{
    let _counted = ep.in_flight.enter();
    let func = ep.func();
    let m = metrics::global();
    let _running = m.running(&func.instance, &func.name, metrics::Direction::Inbound);
    let started = std::time::Instant::now();
    let mut sizes = Sizes::default();
    let span = tracing::info_span!(
        "wrpc.server",
        otel.name = %format_args!("{}/{}", func.instance, func.name),
        otel.kind = "server",
        rpc.system = "wrpc",
        rpc.service = func.instance.as_str(),
        rpc.method = func.name.as_str(),
        transport = meta.transport.as_str(),
        component = ep.owner(),
        outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    meta.trace.adopt(&span);
    span.record("trace_id", trace::trace_id(&span).as_str());
    let result = serve(ep, meta.time_left, rx, &mut tx, &mut sizes)
        .instrument(span.clone())
        .await;
    let outcome = result.as_ref().err().map(ServeError::class);
    span.record("outcome", metrics::outcome(outcome));
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
    }
    m.bytes(
        &func.instance,
        &func.name,
        metrics::Direction::Inbound,
        sizes.params,
        sizes.results,
    );
    m.call(
        &Call {
            instance: &func.instance,
            function: &func.name,
            direction: metrics::Direction::Inbound,
            transport: meta.transport,
            peer: "",
            outcome,
        },
        started.elapsed(),
    );
    if let Err(e) = &result {
        let func = ep.func();
        span.in_scope(|| {
            tracing::warn!(
                component = ep.owner(),
                instance = func.instance.as_str(),
                function = func.name.as_str(),
                class = e.class().as_str(),
                "call failed: {e}"
            );
        });
        let message = format!("in component {}, function {}: {e}", ep.owner(), func.name);
        // Reported before the results stream ends, so the caller has it when it sees the end.
        if let Some(report) = &meta.report {
            report.send(e.class(), &ep.node, &message).await;
        }
    }
    drop(tx);
    result
}

/// Bytes a call took in and gave out, for metrics.
#[derive(Default)]
struct Sizes {
    params: u64,
    results: u64,
}

/// Counts the bytes read through it.
struct Counted<'a, R> {
    inner: R,
    n: &'a mut u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<'_, R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        *self.n += read;
        res
    }
}

async fn serve<R, W>(
    ep: &Endpoint,
    time_left: Option<Duration>,
    rx: R,
    tx: &mut W,
    sizes: &mut Sizes,
) -> Result<(), ServeError>
where
    R: AsyncRead + Index<R> + Unpin + Send + 'static,
    W: AsyncWrite + Index<W> + Unpin,
{
    // A lone `stream<u8>` parameter: its bytes follow the parameters on their own path.
    let func = ep.func();
    let sub = if is_byte_stream(&func.params) {
        Some(
            rx.index(&[0])
                .map_err(|e| ServeError::Stream(format!("{e:#}")))?,
        )
    } else {
        None
    };
    let mut rx = Counted {
        inner: rx,
        n: &mut sizes.params,
    };
    // The caller's remaining time, when it is the shorter: this node does not work past it.
    let timeout = time_left.map_or(ep.call_timeout(), |b| b.min(ep.call_timeout()));
    // One deadline for the whole call: reading parameters spends from the same time.
    let deadline = tokio::time::Instant::now() + timeout;
    let mut dec = ValuesDecoder::new(func.params.clone(), func.param_labels.clone(), ep.limits);
    let mut buf = BytesMut::new();
    let read = async { Ok(read_values(&mut rx, &mut dec, &mut buf).await?) };
    let params = by(deadline, read, |_| ServeError::ParamsTimeout(timeout)).await?;
    // The parameters are complete: release the incoming side now, so the transport stops
    // buffering for this call while the component runs.
    drop(rx);
    let input = match sub {
        Some(sub) => Some(stream_of(params.first(), sub, ep.limits).map_err(ServeError::Stream)?),
        None => None,
    };
    tracing::debug!(
        component = ep.owner(),
        function = func.name.as_str(),
        time_left_ms = timeout.as_millis() as u64,
        "call started"
    );
    let results = match &ep.imp {
        Implementation::Component { component, export } if is_byte_stream(&func.results) => {
            let data = component
                .call_to_stream(&component.exports[*export], &params, input, deadline)
                .await?;
            return send_stream(func, data, tx, sizes).await;
        }
        Implementation::Component { component, export } => {
            component
                .call_streaming(&component.exports[*export], &params, input, deadline)
                .await?
        }
        Implementation::Builtin { imp, .. } => imp.call(&func.name, &params)?,
    };
    let mut out = BytesMut::new();
    encode_values(&func.results, &func.result_labels, &results, &mut out)?;
    sizes.results = out.len() as u64;
    tx.write_all(&out).await?;
    tx.shutdown().await?;
    Ok(())
}

/// Sends a `stream<u8>` result: the value says the stream follows, then its bytes go on the
/// result's own path as the component writes them.
async fn send_stream<W>(
    func: &witmesh_proto::Func,
    data: ByteStream,
    tx: &mut W,
    sizes: &mut Sizes,
) -> Result<(), ServeError>
where
    W: AsyncWrite + Index<W> + Unpin,
{
    let sub = tx
        .index(&[0])
        .map_err(|e| ServeError::ResultStream(format!("cannot open it: {e:#}")))?;
    let mut out = BytesMut::new();
    let pending = [Value::Stream(StreamValue::Pending)];
    encode_values(&func.results, &func.result_labels, &pending, &mut out)?;
    sizes.results = out.len() as u64;
    tx.write_all(&out).await?;
    tx.shutdown().await?;
    write_stream(sub, data, || false)
        .await
        .map_err(|e| ServeError::ResultStream(e.to_string()))
}
