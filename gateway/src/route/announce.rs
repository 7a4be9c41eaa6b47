//! The discovery tasks of a node: announce itself on a heartbeat, listen to other nodes'
//! announcements, answer a newcomer at once so it need not wait a whole interval, and
//! withdraw on drain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::discovery::{Announcement, Heard, Table};

/// Announces `me` on `subject` every `interval` until `shutdown`, records what others announce
/// in `table`, and withdraws `me` at the end.
pub async fn run(
    nats: async_nats::Client,
    subject: String,
    me: Announcement,
    load: impl Fn() -> u64 + Send + 'static,
    interval: Duration,
    table: Arc<Table>,
    shutdown: CancellationToken,
) {
    let mut sub = match nats.subscribe(subject.clone()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("discovery is off: cannot subscribe to {subject}: {e}");
            return;
        }
    };
    let announce = |load: u64, ttl: Option<u64>| {
        let mut a = me.clone();
        a.load = load;
        if let Some(ttl) = ttl {
            a.ttl_ms = ttl;
        }
        serde_json::to_vec(&a).map(Bytes::from).unwrap_or_default()
    };
    // Nodes heard before, to say when one drops out or comes back.
    let mut known: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut ever: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                if let Err(e) = nats.publish(subject.clone(), announce(load(), None)).await {
                    tracing::debug!("cannot announce on {subject}: {e}");
                }
                let live: std::collections::BTreeSet<String> = table
                    .live(Instant::now())
                    .into_iter()
                    .map(|k| k.announcement.node)
                    .collect();
                for gone in known.difference(&live) {
                    tracing::info!(peer = gone.as_str(), "dropped node {gone}: no announcement within its TTL");
                }
                known = live;
            }
            msg = sub.next() => {
                let Some(msg) = msg else { break };
                match Announcement::parse(&msg.payload) {
                    Ok(a) if a.node == me.node => {}
                    Ok(a) => {
                        let (node, instances) = (a.node.clone(), a.instances.join(", "));
                        match table.hear(a, Instant::now()) {
                            Heard::New => {
                                let again = if ever.insert(node.clone()) { "" } else { " again" };
                                tracing::info!(peer = node.as_str(), "discovered node {node}{again} serving {instances}");
                                known.insert(node.clone());
                                // Let the newcomer learn of this node now, not a heartbeat later.
                                let _ = nats.publish(subject.clone(), announce(load(), None)).await;
                            }
                            Heard::Withdrawn => {
                                known.remove(&node);
                                tracing::info!(peer = node.as_str(), "node {node} withdrew");
                            }
                            Heard::Full => tracing::warn!("discovery table full; ignoring node {node}"),
                            Heard::Refreshed => {}
                        }
                    }
                    Err(e) => tracing::debug!("ignoring a discovery message on {subject}: {e}"),
                }
            }
        }
    }
    // The withdrawal; a server that is gone does not hold the shutdown (the drain waits for
    // this at most a second).
    let _ = nats.publish(subject.clone(), announce(0, Some(0))).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), nats.flush()).await;
}
