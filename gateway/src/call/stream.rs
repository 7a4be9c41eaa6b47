//! Byte streams in a call: a lone `stream<u8>` parameter or result, its bytes read from a
//! value's own wRPC path as chunks, and the first bytes of a parameter stream kept so the
//! call can go to another provider when it never ran.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use witmesh_proto::codec::chunks::{put_chunk, put_end, ChunkDecoder, Piece};
use witmesh_proto::codec::Limits;
use witmesh_proto::value::StreamValue;
use witmesh_proto::{Func, Ty, Value};

/// Longest a result stream may go without a byte before it counts as stalled.
pub const STREAM_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60); // a live sender writes far more often

/// Bytes of a stream as they arrive; an error ends it early.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What a streaming call answered.
pub enum StreamAnswer {
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

/// Writes `input` as chunks on `w` (a stream value's own wRPC path), then the end marker,
/// unless `abandoned` says by then that the call was given up. A stream that fails or is
/// abandoned ends without the marker: the reader sees it cut, never a short whole one.
pub async fn write_stream<W: AsyncWrite + Unpin>(
    mut w: W,
    mut input: ByteStream,
    abandoned: impl Fn() -> bool,
) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    while let Some(data) = input.next().await {
        let data = data?;
        buf.clear();
        put_chunk(&mut buf, &data);
        w.write_all(&buf).await?;
    }
    if abandoned() {
        return Err(std::io::Error::other("the call was abandoned"));
    }
    buf.clear();
    put_end(&mut buf);
    w.write_all(&buf).await?;
    w.shutdown().await
}

/// Most bytes of a parameter stream kept for sending again, should the call turn out never to
/// have reached a server; past this the stream cannot be replayed and the call is not retried.
pub const MAX_REPLAY_BYTES: usize = 1 << 20;

/// A parameter stream whose first bytes are kept until the call's fate is known.
pub struct Replay(Arc<Mutex<Kept>>);

struct Kept {
    /// The rest of the stream, not yet read.
    rest: Option<ByteStream>,
    /// What was read, in order, while it fits.
    read: Vec<Bytes>,
    /// Bytes in `read`, or `None` once more was read than could be kept.
    len: Option<usize>,
}

impl Replay {
    /// Keeps the first bytes read of `input`.
    pub fn new(input: ByteStream) -> Self {
        Replay(Arc::new(Mutex::new(Kept {
            rest: Some(input),
            read: Vec::new(),
            len: Some(0),
        })))
    }

    /// The stream to send: it reads the input, keeping what it reads. Once the input is taken
    /// back for another attempt it fails, so this attempt's stream can never end cleanly.
    pub fn stream(&self) -> ByteStream {
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
    pub fn stop(self) {
        if let Ok(mut k) = self.0.lock() {
            k.len = None;
            k.read = Vec::new();
        }
    }

    /// The whole stream again, if everything read of it was kept.
    pub fn recover(self) -> Option<ByteStream> {
        let mut k = self.0.lock().ok()?;
        k.len?;
        let rest = k.rest.take()?;
        let read = std::mem::take(&mut k.read);
        Some(Box::pin(
            futures::stream::iter(read.into_iter().map(Ok)).chain(rest),
        ))
    }
}

/// The bytes arriving on `r` as chunks, none over `max_chunk`.
pub fn receive<R>(r: R, max_chunk: u64) -> ByteStream
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
