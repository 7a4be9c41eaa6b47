//! `[mesh]`: how calls to imports this node does not serve find a provider and how they are
//! protected on the way: discovery, deadlines, retries, breakers, named links.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::HumanDuration;

/// Default for announcing and listening on the discovery subject.
pub const DEFAULT_DISCOVERY: bool = true; // a sidecar with NATS finds its peers without hand-wiring
/// Default interval between discovery announcements.
pub const DEFAULT_ANNOUNCE_INTERVAL: HumanDuration = HumanDuration::from_millis(1000); // a dead peer is noticed within a few seconds, cheaply
/// Default time an announcement stays valid.
pub const DEFAULT_ANNOUNCE_TTL: HumanDuration = HumanDuration::from_millis(3500); // three missed heartbeats and a margin
/// Default deadline of a forwarded call.
pub const DEFAULT_FORWARD_TIMEOUT: HumanDuration = HumanDuration::from_secs(30); // matches the default component call timeout
/// Default number of attempts of one call, first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3; // enough to ride over one dead peer and one ejection
/// Default share of recent calls that may be retries, in percent.
pub const DEFAULT_RETRY_BUDGET_PERCENT: u32 = 20; // Linkerd's default: a failing peer cannot more than add a fifth to the load
/// Default number of retries per second allowed whatever the budget.
pub const DEFAULT_RETRY_MIN_PER_SECOND: u32 = 10; // lets a quiet node still retry
/// Default first retry backoff.
pub const DEFAULT_BACKOFF_BASE: HumanDuration = HumanDuration::from_millis(5); // short on loopback and LAN; grows exponentially
/// Default longest retry backoff.
pub const DEFAULT_BACKOFF_MAX: HumanDuration = HumanDuration::from_millis(500); // never waits most of a deadline away
/// Default consecutive failures that eject a provider.
pub const DEFAULT_BREAKER_FAILURES: u32 = 5; // a few unlucky calls do not eject a healthy peer
/// Default time an ejected provider stays out before a probe.
pub const DEFAULT_BREAKER_EJECTION: HumanDuration = HumanDuration::from_secs(5); // long enough to stop hammering, short enough to recover

/// `[mesh]`: forwarding of imports to other nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeshConfig {
    /// Whether to announce this node's exports on NATS and route to what other nodes announce;
    /// needs `[nats] enabled = true`.
    pub discovery: bool,
    /// How often this node announces itself.
    pub announce_interval: HumanDuration,
    /// How long an announcement is believed; a node silent for longer is forgotten.
    pub announce_ttl: HumanDuration,
    /// Deadline of a forwarded call unless `timeouts` or a route names one.
    pub default_timeout: HumanDuration,
    /// Deadlines per function, keyed `"INSTANCE.FUNC"` (e.g.
    /// `"local:greeter-demo/greet.greet" = "2s"`).
    pub timeouts: BTreeMap<String, HumanDuration>,
    /// Functions safe to run twice, as `"INSTANCE.FUNC"` or `"INSTANCE.*"`: their calls are
    /// retried after any failure, not only when they provably never reached a provider.
    pub idempotent: Vec<String>,
    /// Longest one attempt may take; `None` lets one attempt use the whole deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_timeout: Option<HumanDuration>,
    /// Most attempts of one call, the first included.
    pub max_attempts: u32,
    /// Retries allowed as a share of recent calls, in percent.
    pub retry_budget_percent: u32,
    /// Retries per second allowed whatever the share.
    pub retry_min_per_second: u32,
    /// First backoff before a retry; doubles per attempt, with jitter.
    pub backoff_base: HumanDuration,
    /// Longest backoff before a retry.
    pub backoff_max: HumanDuration,
    /// Consecutive failures (errors or timeouts) that eject a provider.
    pub breaker_failures: u32,
    /// How long an ejected provider stays out before one probe call decides its return.
    pub breaker_ejection: HumanDuration,
    /// Named links a component can switch between with `wasmcloud:bus/lattice.set-link-name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkConfig>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            discovery: DEFAULT_DISCOVERY,
            announce_interval: DEFAULT_ANNOUNCE_INTERVAL,
            announce_ttl: DEFAULT_ANNOUNCE_TTL,
            default_timeout: DEFAULT_FORWARD_TIMEOUT,
            timeouts: BTreeMap::new(),
            idempotent: Vec::new(),
            attempt_timeout: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_budget_percent: DEFAULT_RETRY_BUDGET_PERCENT,
            retry_min_per_second: DEFAULT_RETRY_MIN_PER_SECOND,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_max: DEFAULT_BACKOFF_MAX,
            breaker_failures: DEFAULT_BREAKER_FAILURES,
            breaker_ejection: DEFAULT_BREAKER_EJECTION,
            links: Vec::new(),
        }
    }
}

impl MeshConfig {
    /// Whether `instance.func` is marked idempotent.
    pub fn is_idempotent(&self, instance: &str, func: &str) -> bool {
        self.idempotent.iter().any(|p| match p.rsplit_once('.') {
            Some((i, "*")) => i == instance,
            Some(_) => {
                p.len() == instance.len() + 1 + func.len()
                    && p.starts_with(instance)
                    && p.ends_with(func)
                    && p.as_bytes()[instance.len()] == b'.'
            }
            None => false,
        })
    }
}

/// `[[mesh.links]]`: a named link, as wasmCloud names links: which target serves which
/// interfaces when a component selects this link with `set-link-name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// The link's name; `"default"` is the link components start with.
    pub name: String,
    /// Instance names (or `prefix*` patterns) this link routes.
    pub interfaces: Vec<String>,
    /// NATS subject prefix of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_prefix: Option<String>,
    /// A `[[peers]]` name to reach the target through instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::MeshConfig;

    #[test]
    fn idempotent_patterns() {
        let m = MeshConfig {
            idempotent: vec!["a:b/c.get".into(), "a:b/d@1.0.0.*".into()],
            ..MeshConfig::default()
        };
        assert!(m.is_idempotent("a:b/c", "get"));
        assert!(!m.is_idempotent("a:b/c", "set"));
        assert!(!m.is_idempotent("a:b/cx", "get"));
        assert!(m.is_idempotent("a:b/d@1.0.0", "anything"));
        assert!(!m.is_idempotent("a:b/d@1.0.1", "anything"));
    }
}
