//! Failure notices over QUIC: the message that goes with a failed call's reset code. A wRPC
//! stream has no room for it, so a witmesh caller opts in per connection by opening one
//! unidirectional stream carrying [`HELLO`]; a witmesh server then reports each failed call
//! on a unidirectional stream of its own: the call's stream id, the class, the node and the
//! message. Upstream peers never say hello and never get a notice.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf as _, BufMut as _};
use tokio::sync::Notify;

use crate::call::{bounded, Class, RemoteFailure};

/// What a caller sends to ask for notices.
pub const HELLO: &[u8] = b"witmesh-failure-notices/1";
/// Longest notice accepted; the message is cut to fit.
pub const MAX_NOTICE: usize = 1200; // header, node id and a bounded message
/// Longest a node id in a notice may be.
const MAX_NODE: usize = 64;
/// Most notices kept for calls that have not looked for theirs.
const MAX_PENDING: usize = 1024; // a caller takes its notice within milliseconds of the reset
/// How long reading one incoming stream (a hello or a notice) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a new connection waits to send its hello (locally buffered: a stream credit is all
/// it needs).
const HELLO_TIMEOUT: Duration = Duration::from_millis(500);

/// A notice on the wire.
pub fn encode(stream: u64, class: Class, node: &str, message: &str) -> Vec<u8> {
    let node = &node.as_bytes()[..node.len().min(MAX_NODE)];
    let message = bounded(message).as_bytes();
    let room = MAX_NOTICE - 13 - node.len();
    let message = &message[..message.len().min(room)];
    let mut b = Vec::with_capacity(13 + node.len() + message.len());
    b.put_u64(stream);
    b.put_u32(class.quic_code());
    b.put_u8(node.len() as u8);
    b.put_slice(node);
    b.put_slice(message);
    b
}

/// The call's stream id and its failure, from a notice; `None` for anything malformed.
pub fn decode(mut bytes: &[u8]) -> Option<(u64, RemoteFailure)> {
    if bytes.len() < 13 || bytes.len() > MAX_NOTICE {
        return None;
    }
    let stream = bytes.get_u64();
    let class = Class::from_quic_code(u64::from(bytes.get_u32()))?;
    let node_len = usize::from(bytes.get_u8());
    if node_len > MAX_NODE || bytes.len() < node_len {
        return None;
    }
    let node = String::from_utf8_lossy(&bytes[..node_len]).into_owned();
    let message = String::from_utf8_lossy(&bytes[node_len..]).into_owned();
    Some((
        stream,
        RemoteFailure {
            class,
            node,
            message,
        },
    ))
}

/// Notices a caller's connection received, until the calls they are about take them.
#[derive(Default)]
pub struct Inbox {
    notices: Mutex<Pending>,
    arrived: Notify,
}

/// Notices not taken yet, and their order of arrival.
#[derive(Default)]
struct Pending {
    by_stream: HashMap<u64, RemoteFailure>,
    order: VecDeque<u64>,
}

impl Inbox {
    fn put(&self, stream: u64, failure: RemoteFailure) {
        if let Ok(mut n) = self.notices.lock() {
            while n.by_stream.len() >= MAX_PENDING {
                match n.order.pop_front() {
                    Some(old) => {
                        n.by_stream.remove(&old);
                    }
                    None => break,
                }
            }
            if n.by_stream.insert(stream, failure).is_none() {
                n.order.push_back(stream);
            }
        }
        self.arrived.notify_waiters();
    }

    fn try_take(&self, stream: u64) -> Option<RemoteFailure> {
        let mut n = self.notices.lock().ok()?;
        let f = n.by_stream.remove(&stream)?;
        n.order.retain(|s| *s != stream);
        Some(f)
    }

    /// The notice about `stream`, waiting up to `wait` for it to arrive.
    pub async fn take(&self, stream: u64, wait: Duration) -> Option<RemoteFailure> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.arrived.notified();
            if let Some(f) = self.try_take(stream) {
                return Some(f);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.try_take(stream);
            }
        }
    }
}

/// Asks the server at the other end of `conn` for notices and files those it sends in the
/// returned inbox, until the connection closes. The hello is written before this returns, so
/// it leaves ahead of the first call and normally reaches the server before that call can
/// fail (QUIC does not order streams, so a failure at once can still go without its notice);
/// a server that grants no stream for it costs at most `HELLO_TIMEOUT`, and only its
/// notices.
pub async fn subscribe(conn: &quinn::Connection) -> Arc<Inbox> {
    let inbox = Arc::new(Inbox::default());
    let ask = async {
        let mut s = conn.open_uni().await.ok()?;
        s.write_all(HELLO).await.ok()?;
        s.finish().ok()
    };
    if tokio::time::timeout(HELLO_TIMEOUT, ask)
        .await
        .ok()
        .flatten()
        .is_none()
    {
        tracing::debug!(
            "could not ask {} for failure notices",
            conn.remote_address()
        );
    }
    let (conn, filed) = (conn.clone(), inbox.clone());
    tokio::spawn(async move {
        while let Ok(mut s) = conn.accept_uni().await {
            let filed = filed.clone();
            tokio::spawn(async move {
                let read = tokio::time::timeout(READ_TIMEOUT, s.read_to_end(MAX_NOTICE)).await;
                match read.ok().and_then(Result::ok).as_deref().and_then(decode) {
                    Some((stream, failure)) => filed.put(stream, failure),
                    None => tracing::debug!("ignoring a malformed failure notice"),
                }
            });
        }
    });
    inbox
}

/// A server connection's side: whether its caller asked for notices.
#[derive(Clone)]
pub struct Notices {
    conn: quinn::Connection,
    wanted: Arc<AtomicBool>,
}

impl Notices {
    /// Watches `conn` for a caller's hello, until the connection closes.
    pub fn watch(conn: &quinn::Connection) -> Self {
        let wanted = Arc::new(AtomicBool::new(false));
        let (c, w) = (conn.clone(), wanted.clone());
        tokio::spawn(async move {
            while let Ok(mut s) = c.accept_uni().await {
                let read = tokio::time::timeout(READ_TIMEOUT, s.read_to_end(HELLO.len())).await;
                if read.ok().and_then(Result::ok).as_deref() == Some(HELLO) {
                    w.store(true, Ordering::Release);
                }
            }
        });
        Notices {
            conn: conn.clone(),
            wanted,
        }
    }

    /// Tells the caller why the call on `stream` failed, if it asked to be told; gives up
    /// after a second (the reset code still tells the class).
    pub async fn send(&self, stream: u64, class: Class, node: &str, message: &str) {
        if !self.wanted.load(Ordering::Acquire) {
            return;
        }
        let notice = encode(stream, class, node, message);
        let send = async {
            let mut s = self.conn.open_uni().await.ok()?;
            s.write_all(&notice).await.ok()?;
            s.finish().ok()
        };
        if tokio::time::timeout(Duration::from_secs(1), send)
            .await
            .is_err()
        {
            tracing::debug!("a failure notice could not be sent within 1 s");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_are_bounded() {
        let b = encode(
            8,
            Class::Trap,
            "node-b",
            "trap in component echo: unreachable",
        );
        let (stream, f) = decode(&b).unwrap();
        assert_eq!(stream, 8);
        assert_eq!(f.class, Class::Trap);
        assert_eq!(f.node, "node-b");
        assert_eq!(f.message, "trap in component echo: unreachable");
        let long = "x".repeat(10_000);
        assert!(encode(1, Class::Internal, &long, &long).len() <= MAX_NOTICE);
        assert!(decode(&encode(1, Class::Internal, &long, &long)).is_some());
    }

    #[test]
    fn malformed_notices_are_ignored() {
        assert!(decode(b"short").is_none());
        let mut bad_class = encode(1, Class::Trap, "b", "m");
        bad_class[8..12].copy_from_slice(&7u32.to_be_bytes());
        assert!(decode(&bad_class).is_none());
        let mut bad_len = encode(1, Class::Trap, "b", "");
        bad_len[12] = 200;
        assert!(decode(&bad_len).is_none());
        assert!(decode(&vec![0; MAX_NOTICE + 1]).is_none());
    }

    #[tokio::test]
    async fn an_inbox_hands_each_notice_to_its_call() {
        let inbox = Inbox::default();
        let f = |m: &str| RemoteFailure {
            class: Class::Trap,
            node: "b".into(),
            message: m.into(),
        };
        inbox.put(4, f("four"));
        assert_eq!(inbox.take(4, Duration::ZERO).await.unwrap().message, "four");
        assert!(inbox.take(4, Duration::from_millis(10)).await.is_none());
    }
}
