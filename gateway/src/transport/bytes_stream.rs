//! Calls whose one parameter or one result is a `stream<u8>`: the call's values go first, then
//! the stream's bytes follow on the value's own path, chunk by chunk, as they are produced.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use witmesh_proto::codec::chunks::{put_chunk, put_end, ChunkDecoder, Piece};
use witmesh_proto::codec::Limits;
use witmesh_proto::value::StreamValue;
use witmesh_proto::{Func, Ty, Value};
use wrpc_transport::{Index, Invoke};

use super::call::{encode_params, not_taken, read_results, result_paths, FailureWatch};
use super::AttemptError;

/// Longest a result stream may go without a byte before it counts as stalled.
pub const STREAM_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60); // a live sender writes far more often

/// Bytes of a stream as they arrive; an error ends it early.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What a streaming call answered.
pub enum Answer {
    /// Its results, none of them a stream.
    Values(Vec<Value>),
    /// Its one result, a byte stream, arriving.
    Stream(ByteStream),
}

/// Whether `tys` is exactly one `stream<u8>`.
pub fn is_byte_stream(tys: &[Ty]) -> bool {
    matches!(tys, [Ty::Stream(Some(t))] if **t == Ty::U8)
}

/// Whether `f` streams bytes at the edge (the gateway, `witmesh call`): its one parameter or
/// its one result is a `stream<u8>`, and nothing else it passes needs a wRPC connection.
pub fn streams_bytes(f: &Func) -> bool {
    let quiet = |tys: &[Ty]| !tys.iter().any(Ty::has_handles);
    match (is_byte_stream(&f.params), is_byte_stream(&f.results)) {
        (true, true) => true,
        (true, false) => quiet(&f.results),
        (false, true) => quiet(&f.params),
        (false, false) => false,
    }
}

/// Calls `func` under `instance` on `client` with `params`; when the one parameter is a
/// `stream<u8>`, `input` supplies its bytes. A `stream<u8>` result comes back as a stream.
/// `failure` hears the provider's report of why it failed the call (witmesh peers only).
/// `input` is taken for the call. With `replay`, after a failure that shows the call never
/// ran anywhere (no responder, unreachable, refused before running) it is put back whole, as
/// long as what had been read of it fits in [`MAX_REPLAY_BYTES`], so the call may go to
/// another provider: when `input` is still there after a failure, it may be sent again.
#[allow(clippy::too_many_arguments)]
pub async fn call<I: Invoke>(
    client: &I,
    cx: I::Context,
    instance: &str,
    func: &Func,
    params: Vec<Value>,
    input: &mut Option<ByteStream>,
    replay: bool,
    limits: Limits,
    failure: &mut impl FailureWatch,
) -> Result<Answer, AttemptError> {
    let replay = if replay {
        input.take().map(Replay::new)
    } else {
        None
    };
    let mut wire = match &replay {
        Some(r) => Some(r.stream()),
        None => input.take(),
    };
    let result = call_once(
        client, cx, instance, func, params, &mut wire, limits, failure,
    )
    .await;
    match (&result, replay) {
        (Err(e), Some(replay)) if e.never_ran() => {
            drop(wire);
            *input = replay.recover();
        }
        // A provider took the call: what was kept can never be needed again.
        (_, Some(replay)) => replay.stop(),
        (_, None) => {}
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn call_once<I: Invoke>(
    client: &I,
    cx: I::Context,
    instance: &str,
    func: &Func,
    params: Vec<Value>,
    input: &mut Option<ByteStream>,
    limits: Limits,
    failure: &mut impl FailureWatch,
) -> Result<Answer, AttemptError> {
    let bytes = encode_params(func, &params)?;
    let paths = result_paths(func);
    let (mut tx, mut rx) = client
        .invoke(cx, instance, &func.name, bytes, &paths)
        .await
        .map_err(|e| AttemptError::NotSent {
            reason: format!("{e:#}"),
        })?;
    let sender = match input.is_some() {
        true => {
            // The invocation may already be on the wire: not "never sent".
            let sub = tx.index(&[0]).map_err(|e| AttemptError::Lost {
                reason: format!("cannot open the parameter stream: {e:#}"),
                results_started: false,
            })?;
            input.take().map(|input| Sender::spawn(sub, input))
        }
        false => None,
    };
    let closed = tokio::select! {
        closed = tx.shutdown() => closed,
        f = failure.wait() => return Err(AttemptError::Remote(f)),
    };
    if let Err(e) = closed {
        return Err(not_taken(&e));
    }
    let streamed = is_byte_stream(&func.results);
    let sub = if streamed {
        Some(rx.index(&[0]).map_err(|e| AttemptError::Lost {
            reason: format!("cannot open the result stream: {e:#}"),
            results_started: false,
        })?)
    } else {
        None
    };
    let mut received = 0;
    let values = read_results(&mut rx, func, limits, failure, &mut received).await?;
    // The parameter stream goes on while the results stream in; a provider that answers
    // before reading all of it simply stops reading.
    if let Some(sender) = sender {
        sender.detach();
    }
    let Some(sub) = sub else {
        return Ok(Answer::Values(values));
    };
    stream_of(values.first(), sub, limits)
        .map(Answer::Stream)
        .map_err(|reason| AttemptError::BadResults { reason })
}

/// The bytes of a decoded `stream<u8>` value: still to come on `sub` (its own wRPC path),
/// each chunk bounded by `max_call_bytes`, or already whole in the value.
pub fn stream_of<R>(value: Option<&Value>, sub: R, limits: Limits) -> Result<ByteStream, String>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    match value {
        Some(Value::Stream(StreamValue::Pending)) => Ok(receive(sub, limits.max_call_bytes as u64)),
        Some(Value::Stream(StreamValue::Ready(chunk))) => match &**chunk {
            Value::Bytes(data) => {
                let data = data.clone();
                Ok(Box::pin(futures::stream::once(async move { Ok(data) })))
            }
            other => Err(format!("a byte stream carried {other:?}")),
        },
        other => Err(format!("expected a stream, found {other:?}")),
    }
}

/// Most bytes of a parameter stream kept for sending again, should the call turn out never to
/// have reached a server; past this the stream cannot be replayed and the call is not retried.
pub const MAX_REPLAY_BYTES: usize = 1 << 20;

/// A parameter stream whose first bytes are kept until the call's fate is known.
struct Replay(Arc<Mutex<Kept>>);

struct Kept {
    /// The rest of the stream, not yet read.
    rest: Option<ByteStream>,
    /// What was read, in order, while it fits.
    read: Vec<Bytes>,
    /// Bytes in `read`, or `None` once more was read than could be kept.
    len: Option<usize>,
}

impl Replay {
    fn new(input: ByteStream) -> Self {
        Replay(Arc::new(Mutex::new(Kept {
            rest: Some(input),
            read: Vec::new(),
            len: Some(0),
        })))
    }

    /// The stream to send: it reads the input, keeping what it reads. Once the input is taken
    /// back for another attempt it fails, so this attempt's stream can never end cleanly.
    fn stream(&self) -> ByteStream {
        let kept = self.0.clone();
        let taken = || {
            std::task::Poll::Ready(Some(Err(std::io::Error::other(
                "the stream was taken back for another attempt",
            ))))
        };
        Box::pin(futures::stream::poll_fn(move |cx| {
            let Ok(mut k) = kept.lock() else {
                return taken();
            };
            let Some(rest) = k.rest.as_mut() else {
                return taken();
            };
            let next = rest.as_mut().poll_next(cx);
            if let std::task::Poll::Ready(Some(Ok(chunk))) = &next {
                let len = k
                    .len
                    .map(|n| n + chunk.len())
                    .filter(|n| *n <= MAX_REPLAY_BYTES);
                k.len = len;
                if len.is_some() {
                    k.read.push(chunk.clone());
                } else {
                    k.read.clear();
                }
            }
            next
        }))
    }

    /// Keeps nothing more: the call was taken by a provider.
    fn stop(self) {
        if let Ok(mut k) = self.0.lock() {
            k.len = None;
            k.read = Vec::new();
        }
    }

    /// The whole stream again, if everything read of it was kept.
    fn recover(self) -> Option<ByteStream> {
        let mut k = self.0.lock().ok()?;
        k.len?;
        let rest = k.rest.take()?;
        let read = std::mem::take(&mut k.read);
        Some(Box::pin(
            futures::stream::iter(read.into_iter().map(Ok)).chain(rest),
        ))
    }
}

/// The task writing a parameter stream: stopped, before its end marker, if the call is
/// abandoned first (so the provider sees a cut stream, never a short whole one).
struct Sender {
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    abandoned: Arc<AtomicBool>,
}

impl Sender {
    fn spawn<W: AsyncWrite + Unpin + Send + 'static>(w: W, input: ByteStream) -> Self {
        let abandoned = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(send(w, input, abandoned.clone()));
        Sender {
            task: Some(task),
            abandoned,
        }
    }

    /// The call has its answer: the stream may go on as long as the provider reads it.
    fn detach(mut self) {
        self.task.take();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Set first: a task that sees its input end before the abort lands must not
            // write the end marker either.
            self.abandoned.store(true, Ordering::Release);
            task.abort();
        }
    }
}

/// Writes `input` as chunks on `w`, then the end, unless the call was `abandoned` by then.
async fn send<W: AsyncWrite + Unpin>(
    mut w: W,
    mut input: ByteStream,
    abandoned: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    while let Some(data) = input.next().await {
        let data = data?;
        buf.clear();
        put_chunk(&mut buf, &data);
        w.write_all(&buf).await?;
    }
    if abandoned.load(Ordering::Acquire) {
        return Err(std::io::Error::other("the call was abandoned"));
    }
    buf.clear();
    put_end(&mut buf);
    w.write_all(&buf).await?;
    w.shutdown().await
}

/// The bytes arriving on `r` as chunks, none over `max_chunk`.
fn receive<R>(r: R, max_chunk: u64) -> ByteStream
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let state = (r, BytesMut::new(), ChunkDecoder::new(max_chunk), false);
    Box::pin(futures::stream::unfold(
        state,
        |(mut r, mut buf, mut dec, done)| async move {
            if done {
                return None;
            }
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(Piece::Data(d))) => return Some((Ok(d), (r, buf, dec, false))),
                    Ok(Some(Piece::End)) => return None,
                    Ok(None) => {}
                    Err(e) => {
                        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
                        return Some((Err(e), (r, buf, dec, true)));
                    }
                }
                buf.reserve(16 << 10);
                let read = tokio::time::timeout(STREAM_IDLE_TIMEOUT, r.read_buf(&mut buf)).await;
                let Ok(read) = read else {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("the stream stalled: nothing arrived for {STREAM_IDLE_TIMEOUT:?}"),
                    );
                    return Some((Err(e), (r, buf, dec, true)));
                };
                match read {
                    Ok(0) => {
                        let e = std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the stream ended without its end marker",
                        );
                        return Some((Err(e), (r, buf, dec, true)));
                    }
                    Ok(_) => {}
                    Err(e) => return Some((Err(e), (r, buf, dec, true))),
                }
            }
        },
    ))
}
