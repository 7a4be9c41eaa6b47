//! One attempt of a call over any wRPC transport: encode, invoke, wait for the provider to
//! take it, read and type-check the results.

use std::future::Future;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use witmesh_proto::codec::{encode_values, values_async_paths, Limits, ValuesDecoder};
use witmesh_proto::{Func, Value};
use wrpc_transport::Invoke;

use crate::call::{AttemptError, RemoteFailure};

/// The async paths of `func`'s results, in the form wRPC transports take.
pub fn result_paths(func: &Func) -> Vec<Box<[Option<usize>]>> {
    values_async_paths(&func.results)
        .into_iter()
        .map(|p| p.into_iter().map(|s| s.map(|i| i as usize)).collect())
        .collect()
}

/// Why closing a call's parameter side failed: over NATS, nothing subscribed (the call never
/// reached a provider); otherwise the connection broke while sending.
pub fn not_taken(e: &std::io::Error) -> AttemptError {
    match e.kind() {
        std::io::ErrorKind::NotConnected => AttemptError::NotSent {
            reason: "no provider is subscribed (NATS: no responders)".to_owned(),
        },
        _ => AttemptError::Lost {
            reason: format!("sending parameters failed: {e}"),
            results_started: false,
        },
    }
}

/// Encodes `params` of `func` for the wire.
pub fn encode_params(func: &Func, params: &[Value]) -> Result<Bytes, AttemptError> {
    let mut buf = BytesMut::new();
    encode_values(&func.params, &func.param_labels, params, &mut buf).map_err(|e| {
        AttemptError::BadParams {
            reason: e.to_string(),
        }
    })?;
    Ok(buf.freeze())
}

/// Runs one attempt of `func` under `instance` (the provider's own instance name, whose
/// version may differ from the import's) on `client`.
///
/// `failure` hears the provider's report of why it failed the call (witmesh peers only).
pub async fn attempt<I, F>(
    client: &I,
    cx: I::Context,
    instance: &str,
    func: &Func,
    params: Bytes,
    limits: Limits,
    mut failure: F,
) -> Result<Vec<Value>, AttemptError>
where
    I: Invoke,
    F: FailureWatch,
{
    let paths = result_paths(func);
    let sent = params.len() as u64;
    let (mut tx, mut rx) = client
        .invoke(cx, instance, &func.name, params, &paths)
        .await
        .map_err(|e| AttemptError::NotSent {
            reason: format!("{e:#}"),
        })?;
    let mut counted = Counted {
        func,
        sent,
        received: 0,
    };
    // Closing the parameter side waits for the provider to take the call over NATS (or
    // reports that nothing is subscribed); over QUIC it finishes the stream.
    let closed = tokio::select! {
        closed = tx.shutdown() => closed,
        f = failure.wait() => return Err(AttemptError::Remote(f)),
    };
    if let Err(e) = closed {
        return Err(not_taken(&e));
    }
    read_results(&mut rx, func, limits, &mut failure, &mut counted.received).await
}

/// Reads and type-checks the results of `func` from `rx`, counting the bytes read in
/// `received`; `failure` hears the provider's report of why it failed the call.
pub async fn read_results<R, F>(
    rx: &mut R,
    func: &Func,
    limits: Limits,
    failure: &mut F,
    received: &mut u64,
) -> Result<Vec<Value>, AttemptError>
where
    R: tokio::io::AsyncRead + Unpin,
    F: FailureWatch,
{
    let mut dec = ValuesDecoder::new(func.results.clone(), func.result_labels.clone(), limits);
    let mut buf = BytesMut::new();
    let mut read_so_far = 0usize;
    loop {
        *received = read_so_far as u64;
        match dec.decode(&mut buf) {
            Ok(Some(values)) if !values.is_empty() => return Ok(values),
            // A function without results succeeds only when its stream ends cleanly: a
            // failure must be able to reach its caller too.
            Ok(Some(_)) => {}
            Ok(None) => {}
            Err(e) => {
                return Err(AttemptError::BadResults {
                    reason: e.to_string(),
                })
            }
        }
        buf.reserve(8 << 10);
        let read = tokio::select! {
            read = rx.read_buf(&mut buf) => read,
            f = failure.wait() => return Err(AttemptError::Remote(f)),
        };
        match read {
            Ok(0) if func.results.is_empty() && read_so_far == 0 => {
                return match failure.after_clean_end().await {
                    Some(f) => Err(AttemptError::Remote(f)),
                    None => Ok(Vec::new()),
                };
            }
            Ok(0) => {
                return Err(failure
                    .after_end()
                    .await
                    .map(AttemptError::Remote)
                    .unwrap_or_else(|| AttemptError::Lost {
                        reason: format!("the results ended early: {}", dec.truncated()),
                        results_started: read_so_far > 0,
                    }))
            }
            Ok(n) => read_so_far += n,
            Err(e) => {
                return Err(failure
                    .after_end()
                    .await
                    .map(AttemptError::Remote)
                    .unwrap_or_else(|| AttemptError::Lost {
                        reason: format!("reading the results failed: {e}"),
                        results_started: read_so_far > 0,
                    }))
            }
        }
    }
}

/// Counts an attempt's bytes (parameters sent, results received) when it ends, however it
/// ends.
struct Counted<'a> {
    func: &'a Func,
    sent: u64,
    received: u64,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        crate::telemetry::metrics::global().bytes(
            &self.func.instance,
            &self.func.name,
            crate::telemetry::metrics::Direction::Outbound,
            self.sent,
            self.received,
        );
    }
}

/// How a caller hears a provider's failure report.
pub trait FailureWatch: Send {
    /// Resolves when a report arrives; never, when none does.
    fn wait(&mut self) -> impl Future<Output = RemoteFailure> + Send;
    /// After the results stream ended early or broke: the report, if there is one.
    fn after_end(&mut self) -> impl Future<Output = Option<RemoteFailure>> + Send;
    /// After a function without results ended cleanly (its success, unless a report says
    /// otherwise): the report, if one has already arrived. By default as [`Self::after_end`].
    fn after_clean_end(&mut self) -> impl Future<Output = Option<RemoteFailure>> + Send {
        self.after_end()
    }
}

/// For peers that send no reports (upstream wRPC servers).
pub struct NoReports;

impl FailureWatch for NoReports {
    async fn wait(&mut self) -> RemoteFailure {
        std::future::pending().await
    }

    async fn after_end(&mut self) -> Option<RemoteFailure> {
        None
    }
}
