//! listener → decode/type-check → call → encode, for one invocation.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use witmesh_proto::codec::{encode_values, read_values, EncodeError, ReadError, ValuesDecoder};

use super::Endpoint;
use crate::host::CallError;

/// Why an invocation failed. The caller sees its stream end without results; the log says why.
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
}

impl ServeError {
    /// A short, stable name for the failure class.
    pub fn class(&self) -> &'static str {
        match self {
            ServeError::Params(_) | ServeError::ParamsTimeout(_) => "bad-params",
            ServeError::Call(e) => e.class(),
            ServeError::Results(_) => "bad-results",
            ServeError::Write(_) => "write",
        }
    }
}

/// Serves one invocation of `ep` whose parameters arrive on `rx`; results go to `tx`.
/// Failures are logged here with component, function and reason.
pub async fn handle<R, W>(ep: &Endpoint, rx: R, tx: W) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let result = serve(ep, rx, tx).await;
    if let Err(e) = &result {
        let func = ep.func();
        tracing::warn!(
            component = &*ep.component.name,
            instance = func.instance.as_str(),
            function = func.name.as_str(),
            class = e.class(),
            "call failed: {e}"
        );
    }
    result
}

async fn serve<R, W>(ep: &Endpoint, mut rx: R, mut tx: W) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let func = ep.func();
    let timeout = ep.component.call_timeout();
    // One deadline for the whole call: reading parameters spends from the same budget.
    let deadline = tokio::time::Instant::now() + timeout;
    let mut dec = ValuesDecoder::new(func.params.clone(), func.param_labels.clone(), ep.limits);
    let mut buf = BytesMut::new();
    let params = tokio::time::timeout_at(deadline, read_values(&mut rx, &mut dec, &mut buf))
        .await
        .map_err(|_| ServeError::ParamsTimeout(timeout))??;
    // The parameters are complete: release the incoming side now, so the transport stops
    // buffering for this call while the component runs.
    drop(rx);
    tracing::debug!(
        component = &*ep.component.name,
        function = func.name.as_str(),
        "call started"
    );
    let export = &ep.component.exports[ep.export];
    let results = ep.component.call(export, &params, deadline).await?;
    let mut out = BytesMut::new();
    encode_values(&func.results, &func.result_labels, &results, &mut out)?;
    tx.write_all(&out).await?;
    tx.shutdown().await?;
    Ok(())
}
