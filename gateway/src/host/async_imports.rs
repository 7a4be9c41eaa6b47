//! Imports declared `async func` (in components built for the async ABI), linked
//! concurrently so the component runs on while they are under way. One whose one parameter
//! or one result is a `stream<u8>` streams it over wRPC as the bytes are written: the
//! component's write end feeds the wire through [`GuestBytes`], and a stream that comes back
//! is read by the component through [`WireBytes`].

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::channel::mpsc;
use wasmtime::component::{
    Destination, LinkerInstance, Source, StreamConsumer, StreamProducer, StreamReader,
    StreamResult, Val,
};
use wasmtime::StoreContextMut;
use witmesh_proto::value::StreamValue;
use witmesh_proto::{Func, Value};

use super::convert::{from_vals, to_vals, NoHandles};
use super::state::CallState;
use crate::call::stream::{is_byte_stream, streams_bytes, ByteStream, StreamAnswer};
use crate::call::{Forward, Importer};
use witmesh_proto::wit::version;

/// Most bytes taken from the component in one write before they go on the wire: writes of
/// any size become chunks of at most this, so what is held per stream stays bounded.
const MAX_CHUNK: usize = 64 << 10;
/// Chunks queued between the component and the wire (the channel holds one more, for its one
/// sender): with [`MAX_CHUNK`], at most 320 KiB per parameter stream wait here, and the
/// component waits when the wire is slower. A stream the mesh may send again also keeps its
/// first bytes until a provider takes the call (see `call::stream::Replay`).
pub(super) const QUEUED_CHUNKS: usize = 4;

/// Links the `async func` import `name` (the component model's name of `func`) to the
/// mesh: with [`Forward::call_stream`] when it streams bytes, else [`Forward::call`].
pub(super) fn link(
    inst: &mut LinkerInstance<'_, CallState>,
    name: &str,
    func: Arc<Func>,
    router: Arc<dyn Forward>,
    caller: Arc<str>,
) -> wasmtime::Result<()> {
    inst.func_new_concurrent(name, move |accessor, _ty, params, results| {
        let (func, router, caller) = (func.clone(), router.clone(), caller.clone());
        Box::pin(async move {
            let (deadline, link, values, input) = accessor.with(|mut access| {
                let data = access.get();
                let versionless = version::split(&func.instance).0;
                let (deadline, link) = (data.deadline, data.links.get(versionless).cloned());
                let (values, input) = lower_params(&mut access, &func, params)?;
                wasmtime::Result::<_>::Ok((deadline, link, values, input))
            })?;
            let from = Importer {
                component: &caller,
                link: link.as_deref(),
                deadline,
            };
            let answer = if streams_bytes(&func) {
                router.clone().call_stream(from, &func, values, input).await
            } else {
                router
                    .call(from, &func, values, None)
                    .await
                    .map(|(values, _)| StreamAnswer::Values(values))
            };
            let answer = answer.map_err(wasmtime::Error::new)?;
            accessor.with(|mut access| match answer {
                StreamAnswer::Values(values) => {
                    let vals = to_vals(&func.results, &values, &mut NoHandles)
                        .map_err(wasmtime::Error::new)?;
                    for (slot, v) in results.iter_mut().zip(vals) {
                        *slot = v;
                    }
                    Ok(())
                }
                StreamAnswer::Stream(data) => {
                    let reader = StreamReader::new(&mut access, WireBytes::new(data, &func))?;
                    let slot = results.first_mut().ok_or_else(|| {
                        wasmtime::Error::msg(format!("`{}` has no result slot", func.name))
                    })?;
                    *slot = Val::Stream(reader.try_into_stream_any(&mut access)?);
                    Ok(())
                }
            })
        })
    })
}

/// `input` as a stream the component owns in `store`, to pass as the one `stream<u8>`
/// parameter of an export (`func`). Needs the async engine (concurrency support).
pub(super) fn stream_for(
    mut store: impl wasmtime::AsContextMut<Data = CallState>,
    input: ByteStream,
    func: &Func,
) -> wasmtime::Result<Val> {
    let reader = StreamReader::new(&mut store, WireBytes::new(input, func))?;
    Ok(Val::Stream(reader.try_into_stream_any(&mut store)?))
}

/// The call's values for the wire, and the bytes of its stream parameter, if it has one.
fn lower_params(
    mut store: impl wasmtime::AsContextMut<Data = CallState>,
    func: &Func,
    params: &[Val],
) -> wasmtime::Result<(Vec<Value>, Option<ByteStream>)> {
    if is_byte_stream(&func.params) {
        let Some(Val::Stream(stream)) = params.first() else {
            return Err(wasmtime::Error::msg(format!(
                "`{}` was passed {params:?} where a stream<u8> belongs",
                func.name
            )));
        };
        let reader = stream.clone().try_into_stream_reader::<u8>()?;
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        reader.pipe(&mut store, GuestBytes { tx, _ended: None })?;
        let input: ByteStream = Box::pin(rx);
        return Ok((vec![Value::Stream(StreamValue::Pending)], Some(input)));
    }
    let values = from_vals(&func.params, params, &mut NoHandles).map_err(wasmtime::Error::new)?;
    Ok((values, None))
}

/// Takes what the component writes to its stream and queues it for the wire. When the
/// component closes its end, this is dropped and the wire stream ends.
pub(super) struct GuestBytes {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    /// Dropped with this: tells whoever waits that the component's stream has ended.
    _ended: Option<tokio::sync::oneshot::Sender<()>>,
}

impl GuestBytes {
    /// A consumer feeding `tx` that drops `ended` when the component's stream ends.
    pub(super) fn new(
        tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
        ended: tokio::sync::oneshot::Sender<()>,
    ) -> Self {
        GuestBytes {
            tx,
            _ended: Some(ended),
        }
    }
}

impl<D: 'static> StreamConsumer<D> for GuestBytes {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<D>,
        source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        match me.tx.poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            // The call is over (answered or failed): nothing reads the rest.
            Poll::Ready(Err(_)) => return Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => return Poll::Pending,
        }
        let mut direct = source.as_direct(store);
        let available = direct.remaining();
        let n = available.len().min(MAX_CHUNK);
        if n == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let chunk = Bytes::copy_from_slice(&available[..n]);
        direct.mark_read(n);
        match me.tx.start_send(Ok(chunk)) {
            Ok(()) => Poll::Ready(Ok(StreamResult::Completed)),
            Err(_) => Poll::Ready(Ok(StreamResult::Dropped)),
        }
    }
}

/// Hands the component the bytes of a stream from the wire: one a provider answered with, or
/// one a caller sends to an export. A stream cut by the network or its sender traps the
/// component: it must not take a part for the whole.
struct WireBytes {
    data: ByteStream,
    what: String,
}

impl WireBytes {
    fn new(data: ByteStream, func: &Func) -> Self {
        WireBytes {
            data,
            what: format!("{}.{}", func.instance, func.name),
        }
    }
}

impl<D: 'static> StreamProducer<D> for WireBytes {
    type Item = u8;
    type Buffer = BytesMut;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, u8, BytesMut>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        // A zero-length read asks whether bytes are ready; answering yes without taking any
        // keeps nothing buffered that the component might never read.
        if destination.remaining(&mut store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let me = self.get_mut();
        // An empty chunk is no item: the component must be handed at least one, or nothing.
        let mut next = me.data.as_mut().poll_next(cx);
        while matches!(&next, Poll::Ready(Some(Ok(chunk))) if chunk.is_empty()) {
            next = me.data.as_mut().poll_next(cx);
        }
        match next {
            Poll::Ready(Some(Ok(chunk))) => {
                destination.set_buffer(BytesMut::from(chunk));
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(wasmtime::Error::msg(format!(
                "the byte stream of `{}` was cut: {e}",
                me.what
            )))),
            Poll::Ready(None) => Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}
