//! Discovery over NATS: every node announces itself (node id, how to reach it, what it
//! serves, a load figure) on `witmesh.discovery.<lattice>` on a heartbeat, with a TTL; what
//! is heard is kept until its TTL passes. Native wRPC programs can announce themselves with
//! the same JSON message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Largest announcement accepted, in bytes.
pub const MAX_ANNOUNCEMENT_BYTES: usize = 64 << 10; // a thousand instance names with room to spare
/// Most instances one announcement may list.
pub const MAX_INSTANCES: usize = 1024; // far beyond any real node
/// Most nodes remembered.
pub const MAX_NODES: usize = 4096; // bounds memory whatever is published on the subject
/// Longest TTL believed, whatever an announcement claims.
pub const MAX_TTL: Duration = Duration::from_secs(300); // a node cannot pin itself in the table forever

/// The discovery subject of `lattice`.
pub fn subject(lattice: Option<&str>) -> String {
    format!("witmesh.discovery.{}", lattice.unwrap_or("default"))
}

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// The node's id.
    pub node: String,
    /// The NATS subject prefix it serves under, when it serves over NATS (`""` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_prefix: Option<String>,
    /// The `host:port` it serves QUIC on, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quic: Option<String>,
    /// The TLS name of its QUIC certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The wRPC instances it serves, with versions.
    pub instances: Vec<String>,
    /// Its admin listener (`host:port`), for `witmesh stat --peers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// Calls in flight there when it announced.
    #[serde(default)]
    pub load: u64,
    /// How long this announcement holds, in milliseconds; 0 withdraws the node.
    pub ttl_ms: u64,
}

/// Why an announcement was ignored.
#[derive(Debug, thiserror::Error)]
pub enum AnnouncementError {
    /// Larger than [`MAX_ANNOUNCEMENT_BYTES`].
    #[error("announcement of {0} bytes is over the {MAX_ANNOUNCEMENT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not the JSON form.
    #[error("announcement is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// Too many instances, or names that are empty or overlong.
    #[error("announcement of node `{node}` is out of bounds: {what}")]
    Bounds {
        /// The node named.
        node: String,
        /// What was out of bounds.
        what: String,
    },
}

impl Announcement {
    /// Parses and bounds-checks an announcement from the wire.
    pub fn parse(payload: &[u8]) -> Result<Self, AnnouncementError> {
        if payload.len() > MAX_ANNOUNCEMENT_BYTES {
            return Err(AnnouncementError::TooLarge(payload.len()));
        }
        let a: Announcement = serde_json::from_slice(payload)?;
        let bad = |what: String| AnnouncementError::Bounds {
            node: a.node.chars().take(64).collect(),
            what,
        };
        if a.node.is_empty() || a.node.len() > 256 {
            return Err(bad("node id must be 1 to 256 bytes".into()));
        }
        if a.instances.len() > MAX_INSTANCES {
            return Err(bad(format!(
                "{} instances (at most {MAX_INSTANCES})",
                a.instances.len()
            )));
        }
        if let Some(i) = a.instances.iter().find(|i| i.is_empty() || i.len() > 512) {
            return Err(bad(format!(
                "instance name `{}` of {} bytes",
                i.chars().take(64).collect::<String>(),
                i.len()
            )));
        }
        Ok(a)
    }
}

/// A known node and when it expires.
#[derive(Clone, Debug)]
pub struct Known {
    /// What it last announced.
    pub announcement: Announcement,
    /// When it is forgotten unless it announces again.
    pub expires: Instant,
}

/// What this node has heard.
#[derive(Debug, Default)]
pub struct Table {
    nodes: Mutex<HashMap<String, Known>>,
}

/// What hearing an announcement changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// A node not known before (or known to have expired).
    New,
    /// A refresh of a known node.
    Refreshed,
    /// The node withdrew.
    Withdrawn,
    /// Ignored: the table is full.
    Full,
}

impl Table {
    /// Records `a`, heard at `now`.
    pub fn hear(&self, a: Announcement, now: Instant) -> Heard {
        let Ok(mut nodes) = self.nodes.lock() else {
            return Heard::Full;
        };
        nodes.retain(|_, k| k.expires > now);
        if a.ttl_ms == 0 {
            nodes.remove(&a.node);
            return Heard::Withdrawn;
        }
        let ttl = Duration::from_millis(a.ttl_ms).min(MAX_TTL);
        let new = !nodes.contains_key(&a.node);
        if new && nodes.len() >= MAX_NODES {
            return Heard::Full;
        }
        nodes.insert(
            a.node.clone(),
            Known {
                announcement: a,
                expires: now + ttl,
            },
        );
        if new {
            Heard::New
        } else {
            Heard::Refreshed
        }
    }

    /// Every node whose announcement still holds at `now`.
    pub fn live(&self, now: Instant) -> Vec<Known> {
        let Ok(mut nodes) = self.nodes.lock() else {
            return Vec::new();
        };
        nodes.retain(|_, k| k.expires > now);
        let mut v: Vec<Known> = nodes.values().cloned().collect();
        v.sort_by(|a, b| a.announcement.node.cmp(&b.announcement.node));
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ann(node: &str, ttl_ms: u64) -> Announcement {
        Announcement {
            node: node.into(),
            nats_prefix: Some("p".into()),
            quic: None,
            server_name: None,
            instances: vec!["a:b/c@1.0.0".into()],
            admin: None,
            load: 0,
            ttl_ms,
        }
    }

    #[test]
    fn nodes_expire_after_their_ttl_and_can_withdraw() {
        let t = Instant::now();
        let table = Table::default();
        assert_eq!(table.hear(ann("b", 1000), t), Heard::New);
        assert_eq!(table.hear(ann("b", 1000), t), Heard::Refreshed);
        assert_eq!(table.hear(ann("c", 3000), t), Heard::New);
        assert_eq!(table.live(t + Duration::from_millis(500)).len(), 2);
        let later = table.live(t + Duration::from_millis(1500));
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].announcement.node, "c");
        assert_eq!(table.hear(ann("c", 0), t), Heard::Withdrawn);
        assert!(table.live(t).is_empty() || table.live(t)[0].announcement.node == "b");
    }

    #[test]
    fn hostile_announcements_are_refused() {
        assert!(Announcement::parse(b"not json").is_err());
        assert!(Announcement::parse(&vec![b' '; MAX_ANNOUNCEMENT_BYTES + 1]).is_err());
        let mut a = ann("b", 1);
        a.instances = vec!["x".into(); MAX_INSTANCES + 1];
        assert!(Announcement::parse(&serde_json::to_vec(&a).unwrap()).is_err());
        let ok = serde_json::to_vec(&ann("b", 1)).unwrap();
        assert_eq!(Announcement::parse(&ok).unwrap(), ann("b", 1));
        // An enormous TTL is capped.
        let table = Table::default();
        let t = Instant::now();
        table.hear(ann("b", u64::MAX), t);
        assert!(table.live(t + MAX_TTL + Duration::from_secs(1)).is_empty());
    }
}
