//! Calls whose one parameter or one result is a `stream<u8>`: the call's values go first, then
//! the stream's bytes follow on the value's own path, chunk by chunk, as they are produced.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};
use wrpc_transport::{Index, Invoke};

use super::call::{encode_params, not_taken, read_results, result_paths, FailureWatch};
use crate::call::stream::{
    is_byte_stream, stream_of, write_stream, ByteStream, Replay, StreamAnswer,
};
use crate::call::AttemptError;

/// Calls `func` under `instance` on `client` with `params`; when the one parameter is a
/// `stream<u8>`, `input` supplies its bytes. A `stream<u8>` result comes back as a stream.
/// `failure` hears the provider's report of why it failed the call (witmesh peers only).
/// `input` is taken for the call. With `replay`, after a failure that shows the call never
/// ran anywhere (no responder, unreachable, refused before running) it is put back whole, as
/// long as what had been read of it fits in [`crate::call::stream::MAX_REPLAY_BYTES`], so the call may go to
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
) -> Result<StreamAnswer, AttemptError> {
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
) -> Result<StreamAnswer, AttemptError> {
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
        return Ok(StreamAnswer::Values(values));
    };
    stream_of(values.first(), sub, limits)
        .map(StreamAnswer::Stream)
        .map_err(|reason| AttemptError::BadResults { reason })
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
        let flag = abandoned.clone();
        let task = tokio::spawn(write_stream(w, input, move || flag.load(Ordering::Acquire)));
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
