//! Outbound wRPC over NATS: one wRPC client per subject prefix on the node's one NATS
//! connection. Each call carries its remaining deadline and a subject for the provider's
//! failure report as headers, which upstream servers ignore.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::Mutex;
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};

use super::call::{attempt, FailureWatch};
use super::failure::{HEADER_CLASS, HEADER_DEADLINE_MS, HEADER_ERROR_TO, HEADER_NODE};
use crate::call::{bounded, Class};
use crate::call::{AttemptError, RemoteFailure};

/// Calls providers over NATS.
pub struct NatsOut {
    nats: async_nats::Client,
    clients: Mutex<HashMap<String, Arc<wrpc_transport_nats::Client>>>,
}

impl NatsOut {
    /// Calls out over `nats`.
    pub fn new(nats: async_nats::Client) -> Self {
        NatsOut {
            nats,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The NATS connection.
    pub fn connection(&self) -> &async_nats::Client {
        &self.nats
    }

    async fn client(&self, prefix: &str) -> Result<Arc<wrpc_transport_nats::Client>, AttemptError> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(prefix) {
            return Ok(c.clone());
        }
        let c = wrpc_transport_nats::Client::new(self.nats.clone(), prefix.to_owned(), None)
            .await
            .map_err(|e| AttemptError::NotSent {
                reason: format!("cannot set up wRPC over NATS for prefix `{prefix}`: {e:#}"),
            })?;
        let c = Arc::new(c);
        clients.insert(prefix.to_owned(), c.clone());
        Ok(c)
    }

    /// A way to invoke functions at the provider under `prefix` with values the caller
    /// encodes itself (streams and futures), and the headers to send: the time left the
    /// provider has and the trace context.
    pub async fn invoker(
        &self,
        prefix: &str,
        time_left: Duration,
    ) -> Result<(Arc<wrpc_transport_nats::Client>, HeaderMap), AttemptError> {
        let client = self.client(prefix).await?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HEADER_DEADLINE_MS,
            time_left.as_millis().max(1).to_string().as_str(),
        );
        for (name, value) in crate::telemetry::TraceContext::current().headers() {
            headers.insert(name, value);
        }
        Ok((client, headers))
    }

    /// Asks the provider to report a failure of the call `headers` go with, and returns the
    /// watch for that report.
    pub async fn reports(&self, headers: &mut HeaderMap) -> Result<NatsReports, AttemptError> {
        let report_to = self.nats.new_inbox();
        let reports =
            self.nats
                .subscribe(report_to.clone())
                .await
                .map_err(|e| AttemptError::NotSent {
                    reason: format!("cannot subscribe for failure reports: {e}"),
                })?;
        headers.insert(HEADER_ERROR_TO, report_to.as_str());
        Ok(NatsReports(reports))
    }

    /// One attempt of `func` at the provider under `prefix`, which must answer within
    /// `time_left` (told to it in a header).
    pub async fn attempt(
        &self,
        prefix: &str,
        instance: &str,
        func: &Func,
        params: Bytes,
        limits: Limits,
        time_left: Duration,
    ) -> Result<Vec<Value>, AttemptError> {
        let (client, mut headers) = self.invoker(prefix, time_left).await?;
        let reports = self.reports(&mut headers).await?;
        attempt(
            &*client,
            Some(headers),
            instance,
            func,
            params,
            limits,
            reports,
        )
        .await
    }
}

/// Failure reports published to the call's report subject.
pub struct NatsReports(async_nats::Subscriber);

/// How long after the results ended a report may still be on its way.
const REPORT_GRACE: Duration = Duration::from_millis(50); // the report was published before the stream ended; this covers task hand-offs

impl FailureWatch for NatsReports {
    async fn wait(&mut self) -> RemoteFailure {
        loop {
            match self.0.next().await {
                Some(msg) => {
                    if let Some(f) = parse_report(&msg) {
                        return f;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    async fn after_end(&mut self) -> Option<RemoteFailure> {
        tokio::time::timeout(REPORT_GRACE, self.wait()).await.ok()
    }

    async fn after_clean_end(&mut self) -> Option<RemoteFailure> {
        // A provider publishes its report before it ends the results, on one connection, and
        // NATS delivers one connection's messages in order: by the time the end reached us the
        // report is queued. So a clean end waits for nothing (a successful call of a function
        // without results would otherwise pay the grace period every time).
        tokio::task::yield_now().await;
        loop {
            match self.0.next().now_or_never() {
                Some(Some(msg)) => {
                    if let Some(f) = parse_report(&msg) {
                        return Some(f);
                    }
                }
                Some(None) | None => return None,
            }
        }
    }
}

/// A failure report message as a [`RemoteFailure`]; `None` when it is not one.
pub fn parse_report(msg: &async_nats::Message) -> Option<RemoteFailure> {
    let headers = msg.headers.as_ref()?;
    let class = Class::parse(headers.get(HEADER_CLASS)?.as_str())?;
    let node = headers
        .get(HEADER_NODE)
        .map_or("?", |v| v.as_str())
        .to_owned();
    let text = String::from_utf8_lossy(&msg.payload);
    Some(RemoteFailure {
        class,
        node: bounded(&node).to_owned(),
        message: bounded(&text).to_owned(),
    })
}

/// Publishes a failure report for a call whose caller asked for one.
pub async fn publish_report(
    nats: &async_nats::Client,
    subject: &str,
    class: Class,
    node: &str,
    message: &str,
) {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_CLASS, class.as_str());
    headers.insert(HEADER_NODE, node);
    let payload = Bytes::copy_from_slice(bounded(message).as_bytes());
    if let Err(e) = nats
        .publish_with_headers(subject.to_owned(), headers, payload)
        .await
    {
        tracing::debug!("cannot publish a failure report to {subject}: {e}");
    }
}
