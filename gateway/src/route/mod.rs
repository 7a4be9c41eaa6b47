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
mod health;
pub mod open;
mod resolve;
mod retry;
mod view;

use health::AttemptGuard;
use retry::{Attempt, Tried};
pub use view::{ProviderView, RouteView};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tracing::Instrument as _;
use witmesh_config::{Config, MeshConfig, PeerConfig, RouteConfig};
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};

use witmesh_proto::wit::version;

use crate::call::deadline::attempt_within;
use crate::call::forward::Forwarding;
use crate::call::{
    Address, AttemptError, ByteStream, Forward, ForwardError, Importer, Issuer, Local, LocalExport,
    Provider, RemoteFailure, StreamAnswer, Target,
};
use crate::resilience::retry::RetryBudget;
use crate::telemetry::metrics;
use crate::transport::call;
use crate::transport::nats::NatsOut;
use crate::transport::quic::QuicOut;
use balance::Health;

/// The attempts of a plain call: each goes to a provider picked from `providers`, its
/// parameters encoded once.
struct PlainCall<'a> {
    router: &'a Router,
    caller: &'a str,
    func: &'a Func,
    params: &'a [Value],
    providers: &'a [Provider],
    keys: &'a [String],
    searched: &'a [&'static str],
    /// The call passes resource handles: its one provider is taken even while ejected.
    pinned: bool,
    deadline: Instant,
    max_attempts: u32,
    encoded: Option<bytes::Bytes>,
    tried: Vec<usize>,
    last: &'a mut Last,
}

impl Attempt<(Vec<Value>, Issuer)> for PlainCall<'_> {
    async fn run(&mut self, attempts: u32) -> Result<Tried<(Vec<Value>, Issuer)>, ForwardError> {
        let router = self.router;
        let now = Instant::now();
        let Some((i, probe)) = router.pick(self.keys, &self.tried, now, self.pinned) else {
            return Err(ForwardError::NoProvider {
                instance: self.func.instance.clone(),
                searched: format!(
                    "{} (every provider is ejected after failures)",
                    self.searched.join(", ")
                ),
            });
        };
        let provider = &self.providers[i];
        *self.last = Last::of(provider);
        let deadline = self.deadline;
        let attempt_deadline = router
            .mesh
            .attempt_timeout
            .map_or(deadline, |t| deadline.min(now + t.get()));
        // Dropped mid-attempt (the caller went away), the attempt is released unrecorded.
        let pending = AttemptGuard {
            router,
            key: &self.keys[i],
            probe,
            done: false,
        };
        let result = router
            .attempt(
                self.caller,
                provider,
                self.func,
                self.params,
                &mut self.encoded,
                attempt_deadline,
            )
            .await;
        let elapsed = now.elapsed();
        pending.finish();
        router.record(&self.keys[i], elapsed, result.as_ref().err(), self.pinned);
        self.tried.push(i);
        Ok(match result {
            Ok(values) => Tried::Answered((values, Issuer(provider.clone()))),
            Err(error) => Tried::Failed {
                error,
                key: self.keys[i].clone(),
                deadline,
                allowed: attempts < self.max_attempts,
            },
        })
    }
}

/// The provider of a call's last attempt, for metrics.
#[derive(Default)]
struct Last {
    peer: String,
    transport: metrics::Wire,
    local: bool,
}

impl Last {
    fn of(p: &Provider) -> Self {
        match &p.target {
            Target::Local(_) => Last {
                peer: p.node.clone(),
                transport: metrics::Wire::Local,
                local: true,
            },
            Target::Remote(a) => Last {
                peer: p.node.clone(),
                transport: match a {
                    Address::Nats { .. } => metrics::Wire::Nats,
                    Address::Quic { .. } => metrics::Wire::Quic,
                },
                local: false,
            },
        }
    }
}

/// Who makes a forwarded call: the calling component, the link it selected, and the provider
/// its resource handles pin the call to.
struct CallFrom<'a> {
    caller: &'a str,
    link: Option<&'a str>,
    pin: Option<&'a Issuer>,
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
    pub fn add_local(&self, component: Arc<dyn Local>) {
        if let Ok(mut local) = self.local.write() {
            for export in 0..component.export_count() {
                let Some(func) = component.func(export) else {
                    continue;
                };
                local.push((
                    func.instance.clone(),
                    LocalExport {
                        component: component.clone(),
                        export,
                    },
                ));
            }
        }
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
        pin: Option<&Issuer>,
    ) -> Result<(Vec<Value>, Issuer), ForwardError> {
        let m = metrics::global();
        let _running = m.running(&func.instance, &func.name, metrics::Direction::Outbound);
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
        span.record("transport", last.transport.as_str());
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
                direction: if last.local {
                    metrics::Direction::Local
                } else {
                    metrics::Direction::Outbound
                },
                transport: last.transport,
                peer: &last.peer,
                outcome: result.as_ref().err().map(ForwardError::class),
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
    ) -> Result<(Vec<Value>, Issuer), ForwardError> {
        let CallFrom { caller, link, pin } = from;
        let (providers, route, searched) = match pin {
            Some(Issuer(p)) => {
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
        let max_attempts = self.max_attempts(route);
        // A resource lives at one provider: there is nowhere else to retry.
        let max_attempts = if pin.is_some() { 1 } else { max_attempts };
        let keys: Vec<String> = providers.iter().map(Provider::key).collect();
        let mut plain = PlainCall {
            router: self,
            caller,
            func,
            params: &params,
            providers: &providers,
            keys: &keys,
            searched: &searched,
            pinned: pin.is_some(),
            deadline,
            max_attempts,
            encoded: None,
            tried: Vec::new(),
            last,
        };
        self.drive(caller, func, start, &mut plain).await
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
        let time_left = deadline.saturating_duration_since(Instant::now());
        let address = match &provider.target {
            Target::Local(l) => {
                return l
                    .component
                    .call(l.export, params, deadline)
                    .await
                    .map_err(|e| {
                        AttemptError::Remote(RemoteFailure {
                            class: e.class,
                            node: self.node.to_string(),
                            message: format!(
                                "in component {} (called by {caller}): {}",
                                l.component.name(),
                                e.message
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
                        n.attempt(
                            prefix,
                            &provider.instance,
                            func,
                            bytes,
                            self.limits,
                            time_left,
                        )
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
        attempt_within(deadline, run).await
    }
}

impl Forward for Router {
    fn call<'a>(
        &'a self,
        from: Importer<'a>,
        func: &'a Func,
        params: Vec<Value>,
        issuer: Option<&'a Issuer>,
    ) -> Forwarding<'a, (Vec<Value>, Issuer)> {
        Box::pin(self.call_pinned(
            from.component,
            from.link,
            func,
            params,
            from.deadline,
            issuer,
        ))
    }

    fn call_stream<'a>(
        self: Arc<Self>,
        from: Importer<'a>,
        func: &'a Func,
        params: Vec<Value>,
        input: Option<ByteStream>,
    ) -> Forwarding<'a, StreamAnswer> {
        Box::pin(async move {
            Router::call_stream(
                &self,
                from.component,
                from.link,
                func,
                params,
                input,
                from.deadline,
            )
            .await
        })
    }

    fn could_serve(&self, instance: &str) -> bool {
        Router::could_serve(self, instance, &[])
    }
}
