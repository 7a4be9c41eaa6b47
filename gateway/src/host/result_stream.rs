//! Exports whose one result is a `stream<u8>` (components built for the async ABI): the
//! component returns the stream's read end and goes on writing it after the call returns, so
//! its instance runs in a task of its own, under the call's deadline and concurrency slot,
//! until the stream ends. A stream the component does not finish (a trap, the deadline) ends
//! in an error for the reader, never in a short success.

use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::SinkExt as _;
use tokio::sync::oneshot;
use tokio::time::Instant as Deadline;
use wasmtime::component::Val;
use witmesh_proto::Value;

use super::async_imports::{self, GuestBytes, QUEUED_CHUNKS};
use super::convert::{to_vals, NoHandles};
use super::invoke::{classify, CallError};
use super::{Export, LoadedComponent};
use crate::call::deadline::by;
use crate::call::ByteStream;

/// Who hears how the call went before its stream started: the caller, once.
type Started = Arc<Mutex<Option<oneshot::Sender<Result<(), CallError>>>>>;

impl LoadedComponent {
    /// Calls `export`, whose one result is a `stream<u8>`, with `params` (and `input` for a
    /// `stream<u8>` parameter) and returns the stream as the component writes it. The
    /// instance is never reused: it may still be running when the stream is dropped.
    pub async fn call_to_stream(
        &self,
        export: &Export,
        params: &[Value],
        input: Option<ByteStream>,
        deadline: Deadline,
    ) -> Result<ByteStream, CallError> {
        let time_left = deadline.saturating_duration_since(Deadline::now());
        let slot = self.slot(deadline).await?;
        let func = export.func.clone();
        let mut args = if input.is_some() {
            Vec::new()
        } else {
            to_vals(&func.params, params, &mut NoHandles)?
        };
        let mut warm = by(deadline, self.instantiate(), |_| {
            CallError::Deadline(time_left)
        })
        .await?;
        if let Some(input) = input {
            let stream = async_imports::stream_for(&mut warm.store, input, &func)
                .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
            args.push(stream);
        }
        let f = warm
            .instance
            .get_func(&mut warm.store, export.index)
            .ok_or_else(|| CallError::Instantiate(format!("export `{}` vanished", func.name)))?;
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        let (started_tx, started_rx) = oneshot::channel();
        let started: Started = Arc::new(Mutex::new(Some(started_tx)));
        let mut store = warm.store;
        store.set_epoch_deadline(1);
        store.data_mut().deadline = Some(deadline.into_std());
        let name = func.name.clone();
        let component = self.name.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut failed = tx.clone();
            let told = started.clone();
            let run = store.run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                let mut results = [Val::Bool(false)];
                f.call_concurrent(accessor, &args, &mut results).await?;
                let [Val::Stream(stream)] = results else {
                    return Err(wasmtime::Error::msg(format!(
                        "`{name}` returned {results:?} where its stream<u8> belongs"
                    )));
                };
                let (ended_tx, ended_rx) = oneshot::channel();
                accessor.with(|mut access| {
                    let reader = stream.try_into_stream_reader::<u8>()?;
                    reader.pipe(&mut access, GuestBytes::new(tx, ended_tx))
                })?;
                tell(&told, Ok(()));
                // Resolves when the consumer is dropped: the component's stream has ended.
                let _ = ended_rx.await;
                Ok(())
            });
            let run = async {
                run.await
                    .and_then(|r| r)
                    .map_err(|e| classify(e, CallError::Trap))
            };
            let outcome = match by(deadline, run, |_| CallError::Deadline(time_left)).await {
                Ok(()) => return,
                Err(e) => e,
            };
            if !tell(&started, Err(outcome.clone())) {
                tracing::warn!(
                    component = &*component,
                    "a result stream was cut before its end: {outcome}"
                );
                // Sent before the last sender goes: the reader sees the cut, not an end.
                let _ = failed
                    .send(Err(std::io::Error::other(format!(
                        "the component's stream was cut: {outcome}"
                    ))))
                    .await;
            }
        });
        match started_rx.await {
            Ok(Ok(())) => Ok(Box::pin(rx)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CallError::Instantiate(
                "the call's task ended without an answer".to_owned(),
            )),
        }
    }
}

/// Tells the caller `outcome` if nobody has yet; whether this did.
fn tell(started: &Started, outcome: Result<(), CallError>) -> bool {
    let sender = started.lock().ok().and_then(|mut s| s.take());
    match sender {
        Some(s) => {
            let _ = s.send(outcome);
            true
        }
        None => false,
    }
}
