//! Listeners: where invocations come from. Each transport turns its own framing into a pair of
//! byte streams per invocation and hands them to [`crate::serve::handle`].

pub mod frame_guard;
pub mod nats;
pub mod quic;

use std::time::Duration;

use futures::{Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::serve::{handle, CallMeta, Endpoint};

/// After shutdown, how long the dispatcher keeps taking invocations that were already accepted
/// (queued in the transport, or whose header was being read) before it lets go.
const DRAIN_PICKUP: Duration = Duration::from_millis(100);

/// Takes invocations of `ep` from `invocations` until shutdown, serving each in its own task
/// (tracked, so a drain can wait for it): calls to one function run concurrently. `meta`
/// reads what the transport carried beside each invocation (deadline, where to report).
pub(crate) fn dispatch<C, W, R>(
    ep: Endpoint,
    invocations: impl Stream<Item = anyhow::Result<(C, W, R)>> + Send + 'static,
    meta: impl Fn(C) -> CallMeta + Send + 'static,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) where
    C: Send + 'static,
    W: AsyncWrite + wrpc_transport::Index<W> + Unpin + Send + 'static,
    R: AsyncRead + wrpc_transport::Index<R> + Unpin + Send + 'static,
{
    let calls = tracker.clone();
    tracker.spawn(async move {
        let mut invocations = std::pin::pin!(invocations);
        let mut draining = false;
        loop {
            let next = if draining {
                match tokio::time::timeout(DRAIN_PICKUP, invocations.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            } else {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => {
                        draining = true;
                        continue;
                    }
                    next = invocations.next() => next,
                }
            };
            match next {
                Some(Ok((cx, tx, rx))) => {
                    let ep = ep.clone();
                    let meta = meta(cx);
                    calls.spawn(async move {
                        // Failures are logged inside `handle`, with the function and reason.
                        let _ = handle(&ep, meta, rx, tx).await;
                    });
                }
                Some(Err(e)) => {
                    let func = ep.func();
                    tracing::warn!(
                        instance = func.instance.as_str(),
                        function = func.name.as_str(),
                        "invocation could not be accepted: {e:#}"
                    );
                }
                None => break,
            }
        }
    });
}
