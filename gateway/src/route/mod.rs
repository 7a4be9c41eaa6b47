//! Routing a component's import to a provider, and the resilience around each attempt.
//!
//! The order of resolution (first that has any provider wins):
//! 1. the named link the calling component selected with `set-link-name`, if it covers the
//!    instance;
//! 2. a component on this node exporting a compatible instance: called in-process, no network;
//! 3. a `[[routes]]` entry (or `--route`) matching the instance;
//! 4. nodes heard through discovery that serve a compatible version.
//!
//! Among several providers each attempt goes to the better of two random picks by peak-EWMA
//! load ([`balance`]), skipping ejected ones; a failed attempt is retried on another provider
//! only when [`crate::resilience::retry::safe_to_retry`] allows it and the retry budget has
//! room, within the call's one deadline.

pub mod announce;
pub mod balance;
pub mod discovery;
pub mod open;
pub mod version;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument as _;
use witmesh_config::{Config, HostPort, MeshConfig, PeerConfig, RouteConfig, Transport};
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};

use crate::host::LoadedComponent;
use crate::resilience::breaker::{Breaker, State};
use crate::resilience::retry::{backoff, safe_to_retry, RetryBudget};
use crate::telemetry::metrics;
use crate::transport::failure::Class;
use crate::transport::nats::NatsOut;
use crate::transport::quic::QuicOut;
use crate::transport::{call, Address, AttemptError, RemoteFailure};
use balance::Health;

/// A failed attempt, for [`Router::give_up`].
struct Failed<'a> {
    func: &'a Func,
    attempt: &'a AttemptError,
    /// Attempts made so far, this one included.
    attempts: u32,
    started: Instant,
    deadline: Instant,
    /// Whether this call may be attempted again at all (attempts left, its stream replayable).
    allowed: bool,
    idempotent: bool,
}

/// An attempt under way: released (no longer in flight, its probe free again) if it is
/// dropped before its outcome is recorded.
struct Pending<'a> {
    router: &'a Router,
    key: &'a str,
    probe: bool,
    done: bool,
}

impl Pending<'_> {
    /// The attempt has an outcome, which the caller records.
    fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.router.release(self.key, self.probe);
        }
    }
}

/// The provider of a call's last attempt, for metrics.
#[derive(Default)]
struct Last {
    peer: String,
    transport: &'static str,
    local: bool,
}

impl Last {
    fn of(p: &Provider) -> Self {
        match &p.target {
            Target::Local(_) => Last {
                peer: p.node.clone(),
                transport: "local",
                local: true,
            },
            Target::Remote(a) => Last {
                peer: p.node.clone(),
                transport: match a {
                    Address::Nats { .. } => "nats",
                    Address::Quic { .. } => "quic",
                },
                local: false,
            },
        }
    }
}

/// witmesh's reflection interface, served by every sidecar.
const REFLECT: &str = "witmesh:mesh/reflect@0.1.0";

/// Why a forwarded call failed, as the calling component's host sees it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ForwardError {
    /// Nothing serves the instance.
    #[error("no provider of `{instance}` is available (looked in: {searched}); serve it on a node of the mesh, or add a [[routes]] entry or --route")]
    NoProvider {
        /// The imported instance.
        instance: String,
        /// Where the router looked.
        searched: String,
    },
    /// Every attempt failed, or the last failure could not be retried.
    #[error("`{instance}.{func}` via {provider} failed after {attempts} attempt(s): {last}")]
    Failed {
        /// The imported instance.
        instance: String,
        /// The function.
        func: String,
        /// The provider of the last attempt.
        provider: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last: AttemptError,
    },
    /// The call's deadline passed.
    #[error("`{instance}.{func}` got no answer within its deadline of {timeout:?} ({attempts} attempt(s), last via {provider})")]
    Deadline {
        /// The imported instance.
        instance: String,
        /// The function.
        func: String,
        /// The deadline.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
        /// The provider of the last attempt.
        provider: String,
    },
}

impl ForwardError {
    /// The failure class callers see.
    pub fn class(&self) -> Class {
        match self {
            ForwardError::NoProvider { .. } => Class::NoProvider,
            ForwardError::Failed { last, .. } => last.class(),
            ForwardError::Deadline { .. } => Class::Deadline,
        }
    }
}

/// A component of this node serving an instance.
#[derive(Clone)]
pub struct LocalExport {
    /// The component.
    pub component: Arc<LoadedComponent>,
    /// Index into its exports.
    pub export: usize,
}

/// One place a call can go.
#[derive(Clone)]
enum Target {
    Local(LocalExport),
    Remote(Address),
}

/// A provider of one instance.
#[derive(Clone)]
struct Provider {
    /// The node serving it (or the route's name for it).
    node: String,
    /// The provider's own instance name (its version may differ from the import's).
    instance: String,
    target: Target,
    /// Where it was found: `local`, `route`, `link:NAME` or `discovery`.
    source: String,
}

/// Who makes a forwarded call: the calling component, the link it selected, and the provider
/// its resource handles pin the call to.
struct CallFrom<'a> {
    caller: &'a str,
    link: Option<&'a str>,
    pin: Option<&'a Pin>,
}

/// The provider that answered a call: resource handles it returned live there, so calls that
/// pass them go back to it and nowhere else.
#[derive(Clone)]
pub struct Pin(Provider);

impl Pin {
    /// The provider's key (its address, or `local:COMPONENT`), for logs and errors.
    pub fn key(&self) -> String {
        self.0.key()
    }
}

impl Provider {
    fn key(&self) -> String {
        match &self.target {
            Target::Local(l) => format!("local:{}", l.component.name),
            Target::Remote(a) => format!("{a}"),
        }
    }
}

/// Where forwarded calls go: the node's routing table, balancer state, retry budget and
/// outbound transports.
pub struct Router {
    node: Arc<str>,
    mesh: MeshConfig,
    routes: Vec<RouteConfig>,
    peers: Vec<PeerConfig>,
    quic_cfg: witmesh_config::QuicConfig,
    limits: Limits,
    local: RwLock<Vec<(String, LocalExport)>>,
    nats: Option<Arc<NatsOut>>,
    quic: QuicOut,
    discovered: Option<Arc<discovery::Table>>,
    health: Mutex<HashMap<String, Health>>,
    budget: Mutex<RetryBudget>,
}

/// One line of `witmesh routes`: an imported instance and what serves it.
#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    /// The instance as imported.
    pub instance: String,
    /// Its providers now.
    pub providers: Vec<ProviderView>,
}

/// A provider as `witmesh routes` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    /// Node id (or route name).
    pub node: String,
    /// The provider's instance, with the version chosen.
    pub instance: String,
    /// `local`, `nats:PREFIX` or `quic://ADDR`.
    pub address: String,
    /// How it was found.
    pub source: String,
    /// `closed`, `open` (ejected) or `probing`.
    pub breaker: String,
    /// Latency estimate, microseconds.
    pub ewma_us: u64,
    /// Calls in flight from this node.
    pub in_flight: u64,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
}

impl Router {
    /// A router for `cfg`, calling out over `nats` (when connected) and QUIC trusting
    /// `trusted_pem`.
    pub fn new(
        cfg: &Config,
        limits: Limits,
        nats: Option<async_nats::Client>,
        trusted_pem: &[u8],
        discovered: Option<Arc<discovery::Table>>,
    ) -> anyhow::Result<Self> {
        Ok(Router {
            node: Arc::from(cfg.node.id.as_str()),
            mesh: cfg.mesh.clone(),
            routes: cfg.routes.clone(),
            peers: cfg.peers.clone(),
            quic_cfg: cfg.quic.clone(),
            limits,
            local: RwLock::new(Vec::new()),
            nats: nats.map(|n| Arc::new(NatsOut::new(n))),
            quic: QuicOut::new(
                trusted_pem,
                "no CA is trusted for dialling QUIC peers: set `[quic] trusted_ca` or pass --ca PEM (a peer's development certificate works)".to_owned(),
            )?,
            discovered,
            health: Mutex::new(HashMap::new()),
            budget: Mutex::new(RetryBudget::new(
                cfg.mesh.retry_budget_percent,
                cfg.mesh.retry_min_per_second,
            )),
        })
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Registers the exports of a component of this node as in-process providers.
    pub fn add_local(&self, component: &Arc<LoadedComponent>) {
        if let Ok(mut local) = self.local.write() {
            for (export, e) in component.exports.iter().enumerate() {
                local.push((
                    e.func.instance.clone(),
                    LocalExport {
                        component: component.clone(),
                        export,
                    },
                ));
            }
        }
    }

    /// Whether anything could ever serve `instance`: a local component, a route or link, or
    /// discovery.
    pub fn could_serve(&self, instance: &str, local_exports: &[String]) -> bool {
        self.discovered.is_some()
            || local_exports
                .iter()
                .any(|e| version::compatible(instance, e))
            || self.routed(instance)
    }

    /// The deadline for calls to `func` through `route`.
    fn timeout(&self, func: &Func, route: Option<&RouteConfig>) -> Duration {
        self.timeout_of(&func.instance, &func.name, route)
    }

    /// The deadline for calls to `instance.function` through `route`.
    fn timeout_of(&self, instance: &str, function: &str, route: Option<&RouteConfig>) -> Duration {
        let key = format!("{instance}.{function}");
        self.mesh
            .timeouts
            .get(&key)
            .map(|t| t.get())
            .or_else(|| route.map(|r| r.timeout.get()))
            .unwrap_or(self.mesh.default_timeout.get())
    }

    fn peer_address(
        &self,
        peer: &PeerConfig,
        via: Transport,
        prefix: Option<&str>,
    ) -> Option<Address> {
        match via {
            Transport::Nats => prefix
                .or(peer.nats_prefix.as_deref())
                .map(|p| Address::Nats {
                    prefix: p.to_owned(),
                }),
            Transport::Quic => peer.quic.clone().map(|addr| Address::Quic {
                server_name: peer.tls_server_name(&self.quic_cfg).to_owned(),
                addr,
            }),
        }
    }

    fn providers(
        &self,
        instance: &str,
        func: Option<&str>,
        link: Option<&str>,
    ) -> (Vec<Provider>, Option<&RouteConfig>, Vec<&'static str>) {
        let mut searched = Vec::new();
        if let Some(name) = link.filter(|n| *n != "default") {
            searched.push("link");
            let covering = self.mesh.links.iter().find(|l| {
                l.name == name && l.interfaces.iter().any(|p| pattern_matches(p, instance))
            });
            if let Some(l) = covering {
                let address = match (&l.nats_prefix, &l.peer) {
                    (Some(prefix), _) => Some(Address::Nats {
                        prefix: prefix.clone(),
                    }),
                    (None, Some(peer)) => {
                        self.peers.iter().find(|p| &p.name == peer).and_then(|p| {
                            self.peer_address(
                                p,
                                if p.quic.is_some() {
                                    Transport::Quic
                                } else {
                                    Transport::Nats
                                },
                                None,
                            )
                        })
                    }
                    (None, None) => None,
                };
                if let Some(address) = address {
                    return (
                        vec![Provider {
                            node: format!("link {name}"),
                            instance: instance.to_owned(),
                            target: Target::Remote(address),
                            source: format!("link:{name}"),
                        }],
                        None,
                        searched,
                    );
                }
            }
        }
        searched.push("local components");
        if let Ok(local) = self.local.read() {
            let mut components = std::collections::HashSet::new();
            let found: Vec<Provider> = local
                .iter()
                .filter(|(i, l)| {
                    version::compatible(instance, i)
                        && match func {
                            Some(f) => l.component.exports[l.export].func.name == f,
                            None => components.insert(l.component.name.clone()),
                        }
                })
                .map(|(i, l)| Provider {
                    node: self.node.to_string(),
                    instance: i.clone(),
                    target: Target::Local(l.clone()),
                    source: "local".to_owned(),
                })
                .collect();
            if !found.is_empty() {
                return (found, None, searched);
            }
        }
        searched.push("routes");
        if let Some(route) = RouteConfig::best(&self.routes, instance) {
            let mut found = Vec::new();
            if route.peers.is_empty() {
                if let (Transport::Nats, Some(prefix)) = (route.via, &route.nats_prefix) {
                    found.push(Provider {
                        node: format!("nats:{prefix}"),
                        instance: instance.to_owned(),
                        target: Target::Remote(Address::Nats {
                            prefix: prefix.clone(),
                        }),
                        source: "route".to_owned(),
                    });
                }
            }
            for name in &route.peers {
                if let Some(peer) = self.peers.iter().find(|p| &p.name == name) {
                    if let Some(address) =
                        self.peer_address(peer, route.via, route.nats_prefix.as_deref())
                    {
                        found.push(Provider {
                            node: peer.name.clone(),
                            instance: instance.to_owned(),
                            target: Target::Remote(address),
                            source: "route".to_owned(),
                        });
                    }
                }
            }
            return (found, Some(route), searched);
        }
        if let Some(table) = &self.discovered {
            searched.push("discovery");
            let mut found = Vec::new();
            for known in table.live(Instant::now()) {
                let a = &known.announcement;
                if *a.node == *self.node {
                    continue;
                }
                for provided in a
                    .instances
                    .iter()
                    .filter(|p| version::compatible(instance, p))
                {
                    let quic = a
                        .quic
                        .as_deref()
                        .and_then(|q| q.parse::<HostPort>().ok())
                        .filter(|_| self.quic.can_dial());
                    let address = match (quic, &a.nats_prefix, &self.nats) {
                        (Some(addr), _, _) => Address::Quic {
                            addr,
                            server_name: a
                                .server_name
                                .clone()
                                .unwrap_or_else(|| self.quic_cfg.server_name.clone()),
                        },
                        (None, Some(prefix), Some(_)) => Address::Nats {
                            prefix: prefix.clone(),
                        },
                        _ => continue,
                    };
                    found.push(Provider {
                        node: a.node.clone(),
                        instance: provided.clone(),
                        target: Target::Remote(address),
                        source: "discovery".to_owned(),
                    });
                }
            }
            // Replicas in one NATS queue group share an address: one provider each.
            let mut seen = std::collections::HashSet::new();
            found.retain(|p| seen.insert((p.key(), p.instance.clone())));
            return (found, None, searched);
        }
        (Vec::new(), None, searched)
    }

    /// Calls `func` (an import of component `caller`, which selected `link`) with `params`,
    /// finishing by `outer` (the calling call's own deadline) at the latest.
    pub async fn call(
        &self,
        caller: &str,
        link: Option<&str>,
        func: &Func,
        params: Vec<Value>,
        outer: Option<Instant>,
    ) -> Result<Vec<Value>, ForwardError> {
        self.call_pinned(caller, link, func, params, outer, None)
            .await
            .map(|(values, _)| values)
    }

    /// [`Router::call`], sent only to `pin` when it is given (the call passes resource handles
    /// that provider issued). Also returns the provider that answered.
    pub async fn call_pinned(
        &self,
        caller: &str,
        link: Option<&str>,
        func: &Func,
        params: Vec<Value>,
        outer: Option<Instant>,
        pin: Option<&Pin>,
    ) -> Result<(Vec<Value>, Pin), ForwardError> {
        let m = metrics::global();
        let direction = "outbound";
        let _running = m.running(&func.instance, &func.name, direction);
        let started = Instant::now();
        let mut last = Last::default();
        let span = tracing::info_span!(
            "wrpc.client",
            otel.name = %format_args!("{}/{}", func.instance, func.name),
            otel.kind = "client",
            rpc.system = "wrpc",
            rpc.service = func.instance.as_str(),
            rpc.method = func.name.as_str(),
            component = caller,
            peer = tracing::field::Empty,
            transport = tracing::field::Empty,
            outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = self
            .call_attempts(
                CallFrom { caller, link, pin },
                func,
                params,
                outer,
                &mut last,
            )
            .instrument(span.clone())
            .await;
        span.record("peer", last.peer.as_str());
        span.record("transport", last.transport);
        span.record(
            "outcome",
            result.as_ref().err().map_or("ok", |e| e.class().as_str()),
        );
        if result.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        m.call(
            &metrics::Call {
                instance: &func.instance,
                function: &func.name,
                direction: if last.local { "local" } else { direction },
                transport: last.transport,
                peer: &last.peer,
                outcome: result.as_ref().err().map_or("ok", |e| e.class().as_str()),
            },
            started.elapsed(),
        );
        result
    }

    async fn call_attempts(
        &self,
        from: CallFrom<'_>,
        func: &Func,
        params: Vec<Value>,
        outer: Option<Instant>,
        last: &mut Last,
    ) -> Result<(Vec<Value>, Pin), ForwardError> {
        let CallFrom { caller, link, pin } = from;
        let (providers, route, searched) = match pin {
            Some(Pin(p)) => {
                // The same provider, called under the instance of this function: a resource
                // one interface issued may be passed to another interface's functions.
                let (found, route, _) = self.providers(&func.instance, Some(&func.name), link);
                let provider = found.into_iter().find(|f| f.key() == p.key());
                let provider = provider.unwrap_or_else(|| Provider {
                    instance: if version::split(&p.instance).0 == version::split(&func.instance).0 {
                        p.instance.clone()
                    } else {
                        func.instance.clone()
                    },
                    ..p.clone()
                });
                (
                    vec![provider],
                    route,
                    vec!["the provider of the resource passed"],
                )
            }
            None => self.providers(&func.instance, Some(&func.name), link),
        };
        if providers.is_empty() {
            return Err(ForwardError::NoProvider {
                instance: func.instance.clone(),
                searched: searched.join(", "),
            });
        }
        let timeout = self.timeout(func, route);
        let start = Instant::now();
        let deadline = outer.map_or(start + timeout, |o| o.min(start + timeout));
        let idempotent = self.mesh.is_idempotent(&func.instance, &func.name);
        let max_attempts = self.max_attempts(route);
        // A resource lives at one provider: there is nowhere else to retry.
        let max_attempts = if pin.is_some() { 1 } else { max_attempts };
        let keys: Vec<String> = providers.iter().map(Provider::key).collect();
        if let Ok(mut b) = self.budget.lock() {
            b.record_call(start);
        }
        let mut encoded = None;
        let mut tried: Vec<usize> = Vec::new();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let now = Instant::now();
            let Some((i, probe)) = self.pick(&keys, &tried, now, pin.is_some()) else {
                return Err(ForwardError::NoProvider {
                    instance: func.instance.clone(),
                    searched: format!(
                        "{} (every provider is ejected after failures)",
                        searched.join(", ")
                    ),
                });
            };
            let provider = &providers[i];
            *last = Last::of(provider);
            let attempt_deadline = self
                .mesh
                .attempt_timeout
                .map_or(deadline, |t| deadline.min(now + t.get()));
            // Dropped mid-attempt (the caller went away), the attempt is released unrecorded.
            let pending = Pending {
                router: self,
                key: &keys[i],
                probe,
                done: false,
            };
            let result = self
                .attempt(
                    caller,
                    provider,
                    func,
                    &params,
                    &mut encoded,
                    attempt_deadline,
                )
                .await;
            let elapsed = now.elapsed();
            pending.finish();
            self.record(&keys[i], elapsed, result.as_ref().err(), pin.is_some());
            let e = match result {
                Ok(values) => return Ok((values, Pin(provider.clone()))),
                Err(e) => e,
            };
            tracing::debug!(
                caller,
                instance = func.instance.as_str(),
                function = func.name.as_str(),
                provider = provider.key().as_str(),
                attempt = attempts,
                class = e.class().as_str(),
                "attempt failed: {e}"
            );
            let failed = Failed {
                func,
                attempt: &e,
                attempts,
                started: start,
                deadline,
                allowed: attempts < max_attempts,
                idempotent,
            };
            if let Some(err) = self.give_up(&failed, &provider.key()) {
                return Err(err);
            }
            tried.push(i);
            self.back_off(attempts, deadline).await;
        }
    }

    /// After the failed attempt `f` at the provider `key`: the error to return, or `None`
    /// when the call goes on to another attempt (the deadline has room, the retry is safe and
    /// allowed, and the retry budget grants it).
    fn give_up(&self, f: &Failed<'_>, key: &str) -> Option<ForwardError> {
        let (func, e) = (f.func, f.attempt);
        let now = Instant::now();
        if now >= f.deadline {
            return Some(ForwardError::Deadline {
                instance: func.instance.clone(),
                func: func.name.clone(),
                timeout: f.deadline.saturating_duration_since(f.started),
                attempts: f.attempts,
                provider: key.to_owned(),
            });
        }
        let wanted =
            f.allowed && safe_to_retry(e.never_ran(), e.class(), f.idempotent, e.results_started());
        let retry = wanted
            && self
                .budget
                .lock()
                .map(|mut b| b.try_retry(now))
                .unwrap_or(false);
        if retry {
            metrics::global().retry(&func.instance, &func.name);
            return None;
        }
        if wanted {
            metrics::global().budget_exhausted(&func.instance, &func.name);
        }
        Some(ForwardError::Failed {
            instance: func.instance.clone(),
            func: func.name.clone(),
            provider: key.to_owned(),
            attempts: f.attempts,
            last: e.clone(),
        })
    }

    /// Attempts a call may take, the first included: its route's `retries` + 1, else
    /// `[mesh] max_attempts`.
    fn max_attempts(&self, route: Option<&RouteConfig>) -> u32 {
        route
            .map(|r| r.retries.saturating_add(1))
            .filter(|n| *n > 1)
            .unwrap_or(self.mesh.max_attempts)
            .max(1)
    }

    /// Waits before attempt `attempts + 1`: exponential backoff with jitter, never past the
    /// call's `deadline`.
    async fn back_off(&self, attempts: u32, deadline: Instant) {
        let wait = backoff(
            attempts,
            self.mesh.backoff_base.get(),
            self.mesh.backoff_max.get(),
        );
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(wait.min(left)).await;
    }

    /// The provider for the next attempt; a `pinned` call takes its one provider even while
    /// ejected (the resource lives nowhere else).
    /// Returns the provider's index and whether this attempt took its breaker's probe.
    fn pick(
        &self,
        keys: &[String],
        tried: &[usize],
        now: Instant,
        pinned: bool,
    ) -> Option<(usize, bool)> {
        let mut health = self.health.lock().ok()?;
        for k in keys {
            health.entry(k.clone()).or_insert_with(|| {
                Health::new(
                    Breaker::new(self.mesh.breaker_failures, self.mesh.breaker_ejection.get()),
                    now,
                )
            });
        }
        let refs: Vec<&Health> = keys.iter().filter_map(|k| health.get(k)).collect();
        let i = balance::pick(&refs, tried, now)?;
        let h = health.get_mut(&keys[i])?;
        let was_closed = h.breaker.state() == State::Closed;
        if !pinned && !h.breaker.admit(now) {
            return None;
        }
        let probe = !pinned && !was_closed && h.breaker.state() == State::Probing;
        h.in_flight += 1;
        Some((i, probe))
    }

    /// Forgets a call abandoned before its outcome was known: it is no longer in flight, it
    /// says nothing about the provider, and the probe it held (`probe`) may be taken again.
    fn release(&self, key: &str, probe: bool) {
        if let Ok(mut health) = self.health.lock() {
            if let Some(h) = health.get_mut(key) {
                h.in_flight = h.in_flight.saturating_sub(1);
                if probe {
                    h.breaker.abandon(Instant::now());
                }
            }
        }
    }

    /// Learns from an attempt; a `pinned` call's failure is about its resource and does not
    /// count against the provider's breaker.
    fn record(&self, key: &str, elapsed: Duration, failure: Option<&AttemptError>, pinned: bool) {
        let Ok(mut health) = self.health.lock() else {
            return;
        };
        let Some(h) = health.get_mut(key) else { return };
        let now = Instant::now();
        h.in_flight = h.in_flight.saturating_sub(1);
        // Latency is learned from answers and from timeouts; a quick failure says nothing
        // about how fast the provider serves, and is the breaker's business.
        if failure.is_none_or(|e| e.class() == Class::Deadline) {
            h.ewma.observe(elapsed, now);
        }
        match failure {
            None => {
                h.ok += 1;
                h.breaker.success();
            }
            // A caller's own bad value says nothing about the provider.
            Some(e) if e.class() == Class::BadParams => {}
            Some(_) if pinned => h.failed += 1,
            Some(_) => {
                h.failed += 1;
                if h.breaker.failure(now) {
                    tracing::warn!(provider = key, "provider ejected after repeated failures");
                }
            }
        }
    }

    async fn attempt(
        &self,
        caller: &str,
        provider: &Provider,
        func: &Func,
        params: &[Value],
        encoded: &mut Option<bytes::Bytes>,
        deadline: Instant,
    ) -> Result<Vec<Value>, AttemptError> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let address = match &provider.target {
            Target::Local(l) => {
                let export = &l.component.exports[l.export];
                return l
                    .component
                    .call(export, params, deadline.into())
                    .await
                    .map_err(|e| {
                        AttemptError::Remote(RemoteFailure {
                            class: e.wire_class(),
                            node: self.node.to_string(),
                            message: format!(
                                "in component {} (called by {caller}): {e}",
                                l.component.name
                            ),
                        })
                    });
            }
            Target::Remote(a) => a,
        };
        let bytes = match encoded {
            Some(b) => b.clone(),
            None => {
                let b = call::encode_params(func, params)?;
                *encoded = Some(b.clone());
                b
            }
        };
        let run = async {
            match address {
                Address::Nats { prefix } => match &self.nats {
                    Some(n) => {
                        n.attempt(prefix, &provider.instance, func, bytes, self.limits, budget)
                            .await
                    }
                    None => Err(AttemptError::NotSent {
                        reason: "this node has no NATS connection; enable [nats]".to_owned(),
                    }),
                },
                Address::Quic { addr, server_name } => {
                    self.quic
                        .attempt(
                            addr,
                            server_name,
                            &provider.instance,
                            func,
                            bytes,
                            self.limits,
                        )
                        .await
                }
            }
        };
        match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(r) => r,
            Err(_) => Err(AttemptError::Deadline { after: budget }),
        }
    }

    /// Whether a route or named link covers `instance`.
    pub fn routed(&self, instance: &str) -> bool {
        self.routes.iter().any(|r| r.matches(instance))
            || self
                .mesh
                .links
                .iter()
                .any(|l| l.interfaces.iter().any(|p| pattern_matches(p, instance)))
    }

    /// The WIT of `instance` from a remote provider of it (its `witmesh:mesh/reflect`), for
    /// callers that have no WIT of their own: the provider's own instance name and its WIT
    /// files. `None` when no remote provider answered.
    pub async fn remote_wit(
        &self,
        instance: &str,
        timeout: Duration,
    ) -> Option<(String, Vec<(String, String)>)> {
        let set = witmesh_proto::WitSet::from_wit_str("witmesh.wit", witmesh_proto::wit::MESH_WIT)
            .ok()?;
        let reflect = set.func(REFLECT, "wit").ok()?;
        let (providers, _, _) = self.providers(instance, None, None);
        let deadline = Instant::now() + timeout;
        for p in providers
            .iter()
            .filter(|p| matches!(p.target, Target::Remote(_)))
        {
            let at = Provider {
                instance: REFLECT.to_owned(),
                ..p.clone()
            };
            let params = [Value::String(p.instance.clone())];
            let answer = self
                .attempt("reflect", &at, &reflect, &params, &mut None, deadline)
                .await;
            match answer.as_deref() {
                Ok([files]) => {
                    if let Some(files) = crate::api::mesh::wit_files_of(files) {
                        return Some((p.instance.clone(), files));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(
                    provider = p.key().as_str(),
                    "cannot fetch the WIT of {instance}: {e}"
                ),
            }
        }
        None
    }

    /// What serves each instance in `instances`, for `witmesh routes`.
    pub fn view(&self, instances: &[String]) -> Vec<RouteView> {
        let health = self.health.lock().map(|h| h.clone()).unwrap_or_default();
        instances
            .iter()
            .map(|instance| {
                let (providers, _, _) = self.providers(instance, None, None);
                RouteView {
                    instance: instance.clone(),
                    providers: providers
                        .iter()
                        .map(|p| {
                            let h = health.get(&p.key());
                            ProviderView {
                                node: p.node.clone(),
                                instance: p.instance.clone(),
                                address: match &p.target {
                                    Target::Local(l) => format!("local:{}", l.component.name),
                                    Target::Remote(a) => a.to_string(),
                                },
                                source: p.source.clone(),
                                breaker: match h.map(|h| h.breaker.state()) {
                                    None | Some(State::Closed) => "closed",
                                    Some(State::Open(_)) => "open",
                                    Some(State::Probing) => "probing",
                                }
                                .to_owned(),
                                ewma_us: h
                                    .map_or(0, |h| (h.ewma.get(Instant::now()) / 1000.0) as u64),
                                in_flight: h.map_or(0, |h| h.in_flight),
                                ok: h.map_or(0, |h| h.ok),
                                failed: h.map_or(0, |h| h.failed),
                            }
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// Whether an instance pattern (`name`, or `prefix*`) covers `instance`.
fn pattern_matches(pattern: &str, instance: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => instance.starts_with(prefix),
        None => version::compatible(instance, pattern) || pattern == instance,
    }
}
