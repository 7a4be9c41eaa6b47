//! The accept loop of an HTTP/1.1 listener: bounded connections, a header timeout, a cap on
//! each connection's life, and a clean stop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::response::Answer;

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may stay open in all.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// What answers requests.
pub type Handler =
    Arc<dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for {what} on {addr}: {source} (choose another address or port)")]
pub struct ListenError {
    what: &'static str,
    addr: SocketAddr,
    source: std::io::Error,
}

/// A bound HTTP listener.
pub struct HttpServer {
    /// The address it is bound to (the real port when 0 was asked for).
    pub local_addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    connections: TaskTracker,
}

impl HttpServer {
    /// Binds `addr` and answers requests with `handler` until [`HttpServer::close`]; `what`
    /// names the listener in errors and logs.
    pub async fn start(
        what: &'static str,
        addr: SocketAddr,
        handler: Handler,
    ) -> Result<Self, ListenError> {
        let err = |source| ListenError { what, addr, source };
        let listener = TcpListener::bind(addr).await.map_err(err)?;
        let local_addr = listener.local_addr().map_err(err)?;
        let stop = CancellationToken::new();
        let connections = TaskTracker::new();
        let task = tokio::spawn(accept_loop(
            what,
            listener,
            handler,
            stop.clone(),
            connections.clone(),
        ));
        Ok(HttpServer {
            local_addr,
            stop,
            task,
            connections,
        })
    }

    /// Stops accepting; requests in progress get up to `grace` to finish, idle connections
    /// are closed at once.
    pub async fn close(self, grace: Duration) {
        self.stop.cancel();
        let _ = self.task.await;
        self.connections.close();
        let _ = tokio::time::timeout(grace, self.connections.wait()).await;
    }
}

async fn accept_loop(
    what: &'static str,
    listener: TcpListener,
    handler: Handler,
    stop: CancellationToken,
    connections: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("{what}: cannot accept a connection: {e}");
                    continue;
                }
            },
        };
        let (handler, stop) = (handler.clone(), stop.clone());
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let answer = handler(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = tokio::time::timeout(CONNECTION_TIMEOUT, conn.as_mut()) => r.ok(),
                () = stop.cancelled() => {
                    // Finish the request in progress, then close.
                    conn.as_mut().graceful_shutdown();
                    tokio::time::timeout(CONNECTION_TIMEOUT, conn.as_mut()).await.ok()
                }
            };
            if let Some(Err(e)) = result {
                tracing::debug!("{what} connection from {peer}: {e}");
            }
        });
    }
}
