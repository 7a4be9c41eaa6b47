//! Calls whose values the caller encodes itself, such as `wrpc:http` requests with streamed
//! bodies: the router picks the provider (by the same order, balancing and breakers as
//! every forwarded call) and hands back a way to invoke it; the caller reports how it went.
//! [`Router::call_stream`] forwards a component's calls that stream bytes, retrying them under
//! the rule every forwarded call follows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;

use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};

use super::retry::{Attempt, Tried};
use super::{Last, Router};
use crate::call::deadline::attempt_within;
use crate::call::{
    Address, AttemptError, ByteStream, ForwardError, LocalExport, Provider, RemoteFailure,
    StreamAnswer, Target,
};
use crate::telemetry::metrics;
use crate::transport::bytes_stream;
use crate::transport::call::NoReports;
use crate::transport::nats::NatsReports;
use crate::transport::quic::OneStream;

/// How to reach the chosen provider.
pub enum Invoker {
    /// wRPC over NATS, with the headers to send (time left to the deadline, trace context).
    Nats {
        /// The client for the provider's subject prefix.
        client: Arc<wrpc_transport_nats::Client>,
        /// Headers for the invocation.
        headers: HeaderMap,
        /// Where the provider's failure report arrives, when one was asked for.
        reports: Option<NatsReports>,
    },
    /// wRPC over the peer's QUIC connection.
    Quic(OneStream),
    /// A component of this node, in-process, by the call's deadline.
    Local {
        /// The export.
        export: LocalExport,
        /// This node's name, for failures.
        node: String,
        /// When the call must have its answer.
        deadline: Instant,
    },
}

impl Invoker {
    /// Calls `func` under the provider's `instance` with `params`, a lone `stream<u8>`
    /// parameter's bytes coming from `input`, kept to `replay` after a failure that never ran
    /// ([`bytes_stream::call`]).
    pub async fn call_bytes_stream(
        &mut self,
        instance: &str,
        func: &Func,
        params: Vec<Value>,
        input: &mut Option<ByteStream>,
        replay: bool,
        limits: Limits,
    ) -> Result<StreamAnswer, AttemptError> {
        match self {
            Invoker::Nats {
                client,
                headers,
                reports,
            } => {
                let cx = Some(headers.clone());
                match reports {
                    Some(r) => {
                        bytes_stream::call(
                            &**client, cx, instance, func, params, input, replay, limits, r,
                        )
                        .await
                    }
                    None => {
                        let mut none = NoReports;
                        bytes_stream::call(
                            &**client, cx, instance, func, params, input, replay, limits, &mut none,
                        )
                        .await
                    }
                }
            }
            Invoker::Local {
                export,
                node,
                deadline,
            } => export
                .component
                .call_stream(export.export, params, input.take(), *deadline)
                .await
                .map_err(|e| {
                    AttemptError::Remote(RemoteFailure {
                        class: e.class,
                        node: node.clone(),
                        message: format!("in component {}: {}", export.component.name(), e.message),
                    })
                }),
            Invoker::Quic(stream) => {
                let mut reports = stream.reports();
                bytes_stream::call(
                    stream,
                    (),
                    instance,
                    func,
                    params,
                    input,
                    replay,
                    limits,
                    &mut reports,
                )
                .await
            }
        }
    }
}

/// A provider chosen for one call; give it back to [`Router::close`] with the outcome. One
/// dropped without that (its caller went away) still stops counting as in flight.
pub struct Opened {
    /// How to invoke it.
    pub invoker: Invoker,
    /// When the call must have its answer.
    pub deadline: Instant,
    /// Attempts the call may take, as for every forwarded call.
    max_attempts: u32,
    instance: String,
    function: String,
    provided: String,
    key: String,
    last: Last,
    started: Instant,
    _running: metrics::Running,
    router: Arc<Router>,
    probe: bool,
    closed: bool,
}

impl Drop for Opened {
    fn drop(&mut self) {
        if !self.closed {
            self.router.release(&self.key, self.probe);
        }
    }
}

impl Opened {
    /// The provider's node id, for logs and problem bodies.
    pub fn peer(&self) -> &str {
        &self.last.peer
    }

    /// The provider's own instance name, to call it under (its version may differ from the
    /// one asked for).
    pub fn provided(&self) -> &str {
        &self.provided
    }
}

/// The attempts of a call that streams bytes: each opens a provider not tried yet, and the
/// parameter stream goes again only while it can be replayed whole.
struct StreamCall<'a> {
    router: &'a Arc<Router>,
    caller: &'a str,
    link: Option<&'a str>,
    func: &'a Func,
    params: Vec<Value>,
    streams_in: bool,
    input: Option<ByteStream>,
    outer: Option<Instant>,
    started: Instant,
    /// The call's one deadline, set by its first attempt.
    deadline: Option<Instant>,
    tried: Vec<String>,
}

impl Attempt<StreamAnswer> for StreamCall<'_> {
    async fn run(&mut self, attempts: u32) -> Result<Tried<StreamAnswer>, ForwardError> {
        let (router, func) = (self.router, self.func);
        if let Some(d) = self.deadline.filter(|d| Instant::now() >= *d) {
            return Err(ForwardError::Deadline {
                instance: func.instance.clone(),
                func: func.name.clone(),
                timeout: d.saturating_duration_since(self.started),
                attempts: attempts - 1,
                provider: self.tried.last().cloned().unwrap_or_default(),
            });
        }
        let mut opened = router
            .open_avoiding(
                self.caller,
                &func.instance,
                &func.name,
                self.link,
                Purpose::Values,
                &self.tried,
            )
            .await?;
        // One deadline for the call, set by its first attempt; `attempt_timeout` bounds each.
        let outer = self.outer;
        let deadline = *self
            .deadline
            .get_or_insert_with(|| outer.map_or(opened.deadline, |o| o.min(opened.deadline)));
        let now = Instant::now();
        let attempt_deadline = router
            .mesh
            .attempt_timeout
            .map_or(deadline, |t| deadline.min(now + t.get()));
        let provided = opened.provided().to_owned();
        let run = opened.invoker.call_bytes_stream(
            &provided,
            func,
            self.params.clone(),
            &mut self.input,
            true,
            router.limits,
        );
        let result = attempt_within(attempt_deadline, run).await;
        let (key, max_attempts) = (opened.key.clone(), opened.max_attempts);
        router.close(opened, result.as_ref().err());
        let consumed = self.streams_in && self.input.is_none();
        self.tried.push(key.clone());
        Ok(match result {
            Ok(answer) => Tried::Answered(answer),
            Err(error) => Tried::Failed {
                error,
                key,
                deadline,
                allowed: !consumed && attempts < max_attempts,
            },
        })
    }
}

/// What a call through [`Router::open`] is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Values the caller encodes with witmesh's codec: any compatible version serves, and
    /// the provider is asked to report failures.
    Values,
    /// A `wrpc:http` request: its bindings name exactly one version, and failures come back
    /// as wasi:http error codes, so no report is asked for.
    Http,
}

impl Router {
    /// Picks a provider of `instance.function` for a call from `caller` (which selected
    /// `link`), dialling it if need be; a provider that cannot be reached is counted against
    /// its breaker and the next one tried. `purpose` says which versions qualify and whether
    /// the provider reports failures.
    pub async fn open(
        self: &Arc<Self>,
        caller: &str,
        instance: &str,
        function: &str,
        link: Option<&str>,
        purpose: Purpose,
    ) -> Result<Opened, ForwardError> {
        self.open_avoiding(caller, instance, function, link, purpose, &[])
            .await
    }

    /// [`Router::open`], passing over the providers `avoid` names (by key) while others are
    /// left: a retry goes elsewhere.
    async fn open_avoiding(
        self: &Arc<Self>,
        caller: &str,
        instance: &str,
        function: &str,
        link: Option<&str>,
        purpose: Purpose,
        avoid: &[String],
    ) -> Result<Opened, ForwardError> {
        let (found, route, searched) = self.providers(instance, Some(function), link);
        let providers: Vec<Provider> = found
            .into_iter()
            // wrpc:http requests reach this node's components through the gateway's own routes.
            .filter(|p| purpose == Purpose::Values || matches!(p.target, Target::Remote(_)))
            .filter(|p| purpose == Purpose::Values || p.instance == instance)
            .collect();
        let others: Vec<Provider> = providers
            .iter()
            .filter(|p| !avoid.contains(&p.key()))
            .cloned()
            .collect();
        let providers = if others.is_empty() { providers } else { others };
        let no_provider = |why: &str| ForwardError::NoProvider {
            instance: instance.to_owned(),
            searched: format!("{}{why}", searched.join(", ")),
        };
        if providers.is_empty() {
            return Err(no_provider(""));
        }
        let started = Instant::now();
        let deadline = started + self.timeout_of(instance, function, route);
        let max_attempts = self.max_attempts(route);
        let keys: Vec<String> = providers.iter().map(Provider::key).collect();
        let mut tried = Vec::new();
        loop {
            let Some((i, probe)) = self.pick(&keys, &tried, Instant::now(), false) else {
                return Err(no_provider(if tried.is_empty() {
                    " (every provider is ejected after failures)"
                } else {
                    " (no provider could be reached)"
                }));
            };
            let provider = &providers[i];
            let time_left = deadline.saturating_duration_since(Instant::now());
            match self.invoker(provider, time_left, purpose).await {
                Ok(invoker) => {
                    return Ok(Opened {
                        invoker,
                        deadline,
                        max_attempts,
                        instance: instance.to_owned(),
                        function: function.to_owned(),
                        provided: provider.instance.clone(),
                        key: keys[i].clone(),
                        last: Last::of(provider),
                        started,
                        _running: metrics::global().running(
                            instance,
                            function,
                            metrics::Direction::Outbound,
                        ),
                        router: self.clone(),
                        probe,
                        closed: false,
                    })
                }
                Err(e) => {
                    tracing::debug!(
                        caller,
                        instance,
                        provider = keys[i].as_str(),
                        "cannot reach the provider: {e}"
                    );
                    self.record(&keys[i], Duration::ZERO, Some(&e), false);
                    tried.push(i);
                }
            }
        }
    }

    async fn invoker(
        &self,
        provider: &Provider,
        time_left: Duration,
        purpose: Purpose,
    ) -> Result<Invoker, AttemptError> {
        match &provider.target {
            Target::Remote(Address::Nats { prefix }) => match &self.nats {
                Some(n) => {
                    let (client, mut headers) = n.invoker(prefix, time_left).await?;
                    let reports = match purpose {
                        Purpose::Values => Some(n.reports(&mut headers).await?),
                        Purpose::Http => None,
                    };
                    Ok(Invoker::Nats {
                        client,
                        headers,
                        reports,
                    })
                }
                None => Err(AttemptError::NotSent {
                    reason: "this node has no NATS connection; enable [nats]".to_owned(),
                }),
            },
            Target::Remote(Address::Quic { addr, server_name }) => {
                Ok(Invoker::Quic(self.quic.invoker(addr, server_name).await?))
            }
            Target::Local(export) => Ok(Invoker::Local {
                export: export.clone(),
                node: self.node.to_string(),
                deadline: Instant::now() + time_left,
            }),
        }
    }

    /// Forwards `func` (an import of component `caller`, which selected `link`), whose one
    /// parameter or one result is a `stream<u8>`, finishing by `outer` at the latest. The
    /// parameter stream's bytes come from `input`. A failed attempt goes to another provider
    /// under the rule every forwarded call follows (`Router::give_up`), and with a parameter
    /// stream only while it can be replayed whole (see [`bytes_stream::call`]).
    pub async fn call_stream(
        self: &Arc<Self>,
        caller: &str,
        link: Option<&str>,
        func: &Func,
        params: Vec<Value>,
        input: Option<ByteStream>,
        outer: Option<Instant>,
    ) -> Result<StreamAnswer, ForwardError> {
        let mut stream = StreamCall {
            router: self,
            caller,
            link,
            func,
            params,
            streams_in: input.is_some(),
            input,
            outer,
            started: Instant::now(),
            deadline: None,
            tried: Vec::new(),
        };
        let started = stream.started;
        self.drive(caller, func, started, &mut stream).await
    }

    /// Learns from a call made through [`Router::open`]: its latency (up to the answer) and
    /// whether it failed, for the balancer, the breaker and the metrics.
    pub fn close(&self, mut opened: Opened, failure: Option<&AttemptError>) {
        opened.closed = true;
        let took = opened.started.elapsed();
        self.record(&opened.key, took, failure, false);
        metrics::global().call(
            &metrics::Call {
                instance: &opened.instance,
                function: &opened.function,
                direction: metrics::Direction::Outbound,
                transport: opened.last.transport,
                peer: &opened.last.peer,
                outcome: failure.map(AttemptError::class),
            },
            took,
        );
    }
}
