//! Outbound wRPC over QUIC: one long-lived TLS 1.3 connection per peer address, dialled on
//! first use and again after it closes; one bidirectional stream per call. A witmesh
//! provider that fails a call resets the stream with a code naming the failure class, which
//! this side reads back (QUIC carries no message: that stays in the provider's log).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use quinn::{RecvStream, SendStream, VarInt};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Mutex;
use witmesh_config::HostPort;
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};
use wrpc_transport::frame::{Incoming, InvokeBuilder, Outgoing};
use wrpc_transport::Invoke;

use super::call::{attempt, FailureWatch};
use super::notice::{self, Inbox};
use crate::call::Class;
use crate::call::{AttemptError, RemoteFailure};

/// Keep-alive on peer connections, so an idle connection to a live peer stays open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1); // well under the idle timeout
/// A peer silent this long is taken for dead and its connection closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5); // notices a vanished peer within seconds
/// Longest a QUIC handshake with a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5); // loopback and LAN handshakes take milliseconds

/// The code a stream is stopped with once done, as upstream's QUIC transport uses.
const STREAM_DONE: VarInt = VarInt::from_u32(1);

/// A peer's one connection and the failure notices it sends.
type Peer = (quinn::Connection, Arc<Inbox>);

/// Calls providers over QUIC.
pub struct QuicOut {
    client: Option<quinn::ClientConfig>,
    trust_problem: String,
    endpoints: Mutex<HashMap<bool, quinn::Endpoint>>,
    conns: Mutex<HashMap<(SocketAddr, String), Peer>>,
}

impl QuicOut {
    /// Dials peers trusting `trusted_pem` (concatenated PEM certificates); with none, every
    /// dial fails with `trust_problem`, which says how to configure trust.
    pub fn new(trusted_pem: &[u8], trust_problem: String) -> anyhow::Result<Self> {
        let client = if trusted_pem.is_empty() {
            None
        } else {
            let mut c = crate::transport::tls::client_config(trusted_pem)?;
            let mut transport = quinn::TransportConfig::default();
            transport.keep_alive_interval(Some(KEEP_ALIVE));
            transport.max_idle_timeout(Some(IDLE_TIMEOUT.try_into()?));
            c.transport_config(Arc::new(transport));
            Some(c)
        };
        Ok(QuicOut {
            client,
            trust_problem,
            endpoints: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
        })
    }

    /// Whether any CA is trusted, so that peers can be dialled at all.
    pub fn can_dial(&self) -> bool {
        self.client.is_some()
    }

    async fn endpoint(&self, v6: bool) -> Result<quinn::Endpoint, AttemptError> {
        let mut eps = self.endpoints.lock().await;
        if let Some(ep) = eps.get(&v6) {
            return Ok(ep.clone());
        }
        let bind: SocketAddr = if v6 {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let ep = quinn::Endpoint::client(bind).map_err(|e| AttemptError::NotSent {
            reason: format!("cannot open a QUIC client socket: {e}"),
        })?;
        eps.insert(v6, ep.clone());
        Ok(ep)
    }

    async fn connection(&self, addr: &HostPort, server_name: &str) -> Result<Peer, AttemptError> {
        let not_sent = |reason: String| AttemptError::NotSent { reason };
        let Some(client) = &self.client else {
            return Err(not_sent(self.trust_problem.clone()));
        };
        let sock = match addr.socket_addr() {
            Some(a) => a,
            None => tokio::net::lookup_host((addr.host(), addr.port()))
                .await
                .map_err(|e| not_sent(format!("cannot resolve `{addr}`: {e}")))?
                .next()
                .ok_or_else(|| not_sent(format!("`{addr}` resolves to no address")))?,
        };
        let key = (sock, server_name.to_owned());
        let mut conns = self.conns.lock().await;
        if let Some((c, inbox)) = conns.get(&key) {
            if c.close_reason().is_none() {
                return Ok((c.clone(), inbox.clone()));
            }
            conns.remove(&key);
        }
        let ep = self.endpoint(sock.is_ipv6()).await?;
        let connecting = ep
            .connect_with(client.clone(), sock, server_name)
            .map_err(|e| not_sent(format!("cannot dial {addr}: {e}")))?;
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| {
                not_sent(format!(
                    "no QUIC handshake with {addr} within {CONNECT_TIMEOUT:?}"
                ))
            })?
            .map_err(|e| {
                not_sent(format!(
                    "QUIC handshake with {addr} (as `{server_name}`) failed: {e}"
                ))
            })?;
        let inbox = notice::subscribe(&conn).await;
        conns.insert(key, (conn.clone(), inbox.clone()));
        Ok((conn, inbox))
    }

    /// One attempt of `func` at the peer `addr`.
    pub async fn attempt(
        &self,
        addr: &HostPort,
        server_name: &str,
        instance: &str,
        func: &Func,
        params: Bytes,
        limits: Limits,
    ) -> Result<Vec<Value>, AttemptError> {
        let stream = self.invoker(addr, server_name).await?;
        let reports = stream.reports();
        attempt(&stream, (), instance, func, params, limits, reports).await
    }

    /// A way to invoke functions on the peer `addr` with values the caller encodes itself
    /// (streams and futures): one stream per invocation on the peer's one connection.
    pub async fn invoker(
        &self,
        addr: &HostPort,
        server_name: &str,
    ) -> Result<OneStream, AttemptError> {
        let (conn, inbox) = self.connection(addr, server_name).await?;
        Ok(OneStream {
            node: addr.to_string(),
            conn,
            code: Arc::new(AtomicU64::new(NO_CODE)),
            stream: Arc::new(AtomicU64::new(NO_STREAM)),
            inbox,
        })
    }
}

/// No reset code seen.
const NO_CODE: u64 = u64::MAX;
/// No stream opened yet.
const NO_STREAM: u64 = u64::MAX;

/// Invokes over one peer connection, one stream per invocation, capturing the code the
/// provider resets it with.
pub struct OneStream {
    node: String,
    conn: quinn::Connection,
    code: Arc<AtomicU64>,
    /// The id of the stream last opened, which the provider's notice names.
    stream: Arc<AtomicU64>,
    inbox: Arc<Inbox>,
}

impl OneStream {
    /// How the caller of the stream's invocation hears why the provider failed it: the reset
    /// code and the provider's notice.
    pub fn reports(&self) -> impl FailureWatch {
        ResetReports {
            code: self.code.clone(),
            stream: self.stream.clone(),
            inbox: self.inbox.clone(),
            node: self.node.clone(),
        }
    }
}

impl Invoke for OneStream {
    type Context = ();
    type Outgoing = Outgoing;
    type Incoming = Incoming;

    async fn invoke<P>(
        &self,
        (): (),
        instance: &str,
        func: &str,
        params: Bytes,
        paths: impl AsRef<[P]> + Send,
    ) -> anyhow::Result<(Outgoing, Incoming)>
    where
        P: AsRef<[Option<usize>]> + Send + Sync,
    {
        let (tx, rx) = self.conn.open_bi().await?;
        self.stream.store(u64::from(tx.id()), Ordering::Release);
        let rx = CaptureReset {
            inner: rx,
            code: self.code.clone(),
        };
        InvokeBuilder::<Streams>::default()
            .invoke(tx, rx, instance, func, params, paths)
            .await
    }
}

/// A stream's receive side that remembers the code it was reset with.
struct CaptureReset {
    inner: RecvStream,
    code: Arc<AtomicU64>,
}

impl AsyncRead for CaptureReset {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let res = AsyncRead::poll_read(Pin::new(&mut self.inner), cx, buf);
        if let Poll::Ready(Err(e)) = &res {
            if let Some(quinn::ReadError::Reset(code)) = e
                .get_ref()
                .and_then(|e| e.downcast_ref::<quinn::ReadError>())
            {
                self.code.store(code.into_inner(), Ordering::Release);
            }
        }
        res
    }
}

/// Stream completion for calls this node makes.
struct Streams;

impl wrpc_transport::frame::ConnHandler<CaptureReset, SendStream> for Streams {
    async fn on_ingress(mut rx: CaptureReset, res: std::io::Result<()>) {
        if let Err(e) = res {
            tracing::debug!("reading a forwarded call's results failed: {e}");
        }
        let _ = rx.inner.stop(STREAM_DONE);
    }

    async fn on_egress(tx: SendStream, res: std::io::Result<()>) {
        if let Err(e) = res {
            tracing::debug!("sending a forwarded call's parameters failed: {e}");
        }
        let _ = tx.stopped().await;
    }
}

/// The class a provider reset the stream with, read once the stream ended, and the message
/// its notice brings.
struct ResetReports {
    code: Arc<AtomicU64>,
    stream: Arc<AtomicU64>,
    inbox: Arc<Inbox>,
    node: String,
}

/// How long after a reset the provider's notice may still be on its way.
const NOTICE_GRACE: Duration = Duration::from_millis(50); // sent before the reset, on the same connection

impl FailureWatch for ResetReports {
    async fn wait(&mut self) -> RemoteFailure {
        std::future::pending().await
    }

    async fn after_end(&mut self) -> Option<RemoteFailure> {
        let class = Class::from_quic_code(self.code.load(Ordering::Acquire))?;
        let stream = self.stream.load(Ordering::Acquire);
        match self.inbox.take(stream, NOTICE_GRACE).await {
            Some(notice) if notice.class == class => Some(notice),
            _ => Some(RemoteFailure {
                class,
                node: self.node.clone(),
                message: "the provider reset the stream with this class and sent no notice (see the provider's log)".to_owned(),
            }),
        }
    }
}
