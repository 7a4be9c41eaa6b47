//! Prometheus metrics keyed by WIT instance and function. Label values come only from the WIT
//! this node loaded, its peers' node ids and fixed sets (direction, transport, outcome); a name
//! that arrives from the wire and is not served here is counted as `other`, so a hostile
//! caller cannot grow the label sets.

use std::sync::OnceLock;

use crate::call::Class;
use std::time::Duration;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The label value for names not served here.
pub const OTHER: &str = "other";

/// Histogram buckets, seconds: 50 µs to 30 s.
const BUCKETS: [f64; 18] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every metric witmesh exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGaugeVec,
    retries: IntCounterVec,
    budget_exhausted: IntCounterVec,
    peers: IntGauge,
    breakers: IntGaugeVec,
    request_bytes: IntCounterVec,
    response_bytes: IntCounterVec,
    instances: IntGaugeVec,
    memory: IntGaugeVec,
}

/// Which way a call went: the `direction` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Served here.
    Inbound,
    /// Forwarded to a peer.
    Outbound,
    /// Forwarded to a component of this node.
    Local,
}

impl Direction {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Local => "local",
        }
    }
}

/// What carried a call: the `transport` label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wire {
    /// wRPC over NATS.
    Nats,
    /// wRPC over QUIC.
    Quic,
    /// In-process, to a component of this node.
    Local,
    /// Not known (a call that found no provider).
    #[default]
    Unknown,
}

impl Wire {
    /// The label value (empty when not known).
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Nats => "nats",
            Wire::Quic => "quic",
            Wire::Local => "local",
            Wire::Unknown => "",
        }
    }
}

/// A provider's circuit breaker, as the `witmesh_breaker_state` gauge and `/v1/routes` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakerState {
    /// Calls flow (gauge 0).
    Closed,
    /// One probe call is in flight (gauge 1).
    Probing,
    /// Ejected (gauge 2).
    Open,
}

impl BreakerState {
    /// The gauge's value.
    pub fn gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Probing => 1,
            BreakerState::Open => 2,
        }
    }
}

/// A component instance's state: the `state` label of the instances gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Running a call.
    Busy,
    /// Warm, waiting for one.
    Idle,
}

impl InstanceState {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Busy => "busy",
            InstanceState::Idle => "idle",
        }
    }
}

/// The `outcome` label of a call that failed with `class`, or `ok`.
pub fn outcome(class: Option<Class>) -> &'static str {
    class.map_or("ok", Class::as_str)
}

/// One finished call, as counted.
pub struct Call<'a> {
    /// The WIT instance (or [`OTHER`]).
    pub instance: &'a str,
    /// The function (or [`OTHER`]).
    pub function: &'a str,
    /// Which way it went.
    pub direction: Direction,
    /// What carried it.
    pub transport: Wire,
    /// The peer's node id (the provider for outbound calls; empty when unknown).
    pub peer: &'a str,
    /// The failure class, `None` for success.
    pub outcome: Option<Class>,
}

impl Metrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "witmesh_requests_total",
                "Calls finished, by WIT instance and function",
            ),
            &[
                "instance",
                "function",
                "direction",
                "transport",
                "peer",
                "outcome",
            ],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "witmesh_request_duration_seconds",
                "Call duration, from the first parameter byte (or the call) to the last result",
            )
            .buckets(BUCKETS.to_vec()),
            &[
                "instance",
                "function",
                "direction",
                "transport",
                "peer",
                "outcome",
            ],
        )?;
        let in_flight = IntGaugeVec::new(
            Opts::new("witmesh_requests_in_flight", "Calls running now"),
            &["instance", "function", "direction"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "witmesh_retries_total",
                "Forwarded-call attempts after the first",
            ),
            &["instance", "function"],
        )?;
        let budget_exhausted = IntCounterVec::new(
            Opts::new(
                "witmesh_retry_budget_exhausted_total",
                "Retries not made because the retry budget was spent",
            ),
            &["instance", "function"],
        )?;
        let peers = IntGauge::new("witmesh_peers_known", "Peers this node has heard announce")?;
        let breakers = IntGaugeVec::new(
            Opts::new(
                "witmesh_breaker_state",
                "Each provider's breaker per forwarded import: 0 closed, 1 probing, 2 open (ejected)",
            ),
            &["instance", "peer"],
        )?;
        registry.register(Box::new(breakers.clone()))?;
        let request_bytes = IntCounterVec::new(
            Opts::new(
                "witmesh_request_bytes_total",
                "Parameter bytes (wRPC encoding) of calls served here",
            ),
            &["instance", "function", "direction"],
        )?;
        let response_bytes = IntCounterVec::new(
            Opts::new(
                "witmesh_response_bytes_total",
                "Result bytes (wRPC encoding) of calls served here",
            ),
            &["instance", "function", "direction"],
        )?;
        let instances = IntGaugeVec::new(
            Opts::new(
                "witmesh_component_instances",
                "Live instances of each component: busy in a call, or idle and warm",
            ),
            &["component", "state"],
        )?;
        let memory = IntGaugeVec::new(
            Opts::new(
                "witmesh_component_memory_bytes",
                "Linear memory held by each component's live instances",
            ),
            &["component"],
        )?;
        registry.register(Box::new(instances.clone()))?;
        registry.register(Box::new(memory.clone()))?;
        registry.register(Box::new(request_bytes.clone()))?;
        registry.register(Box::new(response_bytes.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(budget_exhausted.clone()))?;
        registry.register(Box::new(peers.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            duration,
            in_flight,
            retries,
            budget_exhausted,
            peers,
            breakers,
            request_bytes,
            response_bytes,
            instances,
            memory,
        })
    }

    /// Counts a finished call that took `took`.
    pub fn call(&self, c: &Call<'_>, took: Duration) {
        let labels = [
            c.instance,
            c.function,
            c.direction.as_str(),
            c.transport.as_str(),
            c.peer,
            outcome(c.outcome),
        ];
        self.requests.with_label_values(&labels).inc();
        self.duration
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts a call as running until the guard drops.
    pub fn running(&'static self, instance: &str, function: &str, direction: Direction) -> Running {
        let g = self
            .in_flight
            .with_label_values(&[instance, function, direction.as_str()]);
        g.inc();
        Running(g)
    }

    /// Counts a call's parameter and result bytes.
    pub fn bytes(
        &self,
        instance: &str,
        function: &str,
        direction: Direction,
        params: u64,
        results: u64,
    ) {
        let labels = [instance, function, direction.as_str()];
        self.request_bytes.with_label_values(&labels).inc_by(params);
        self.response_bytes
            .with_label_values(&labels)
            .inc_by(results);
    }

    /// Counts a retry of a forwarded call.
    pub fn retry(&self, instance: &str, function: &str) {
        self.retries.with_label_values(&[instance, function]).inc();
    }

    /// Counts a retry the budget refused.
    pub fn budget_exhausted(&self, instance: &str, function: &str) {
        self.budget_exhausted
            .with_label_values(&[instance, function])
            .inc();
    }

    /// Sets how many peers this node knows.
    pub fn set_peers(&self, n: usize) {
        self.peers.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets the breaker states, `(instance, peer, state)`; providers no longer listed
    /// disappear.
    pub fn set_breakers<'a>(
        &self,
        states: impl IntoIterator<Item = (&'a str, &'a str, BreakerState)>,
    ) {
        self.breakers.reset();
        for (instance, peer, state) in states {
            self.breakers
                .with_label_values(&[instance, peer])
                .set(state.gauge());
        }
    }

    /// Sets a component's live instances (`busy` and `idle`) and their linear memory.
    pub fn set_component(&self, component: &str, live: u64, idle: u64, memory: u64) {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.instances
            .with_label_values(&[component, InstanceState::Busy.as_str()])
            .set(gauge(live.saturating_sub(idle)));
        self.instances
            .with_label_values(&[component, InstanceState::Idle.as_str()])
            .set(gauge(idle));
        self.memory
            .with_label_values(&[component])
            .set(gauge(memory));
    }

    /// Everything in the Prometheus text format.
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A call counted in `witmesh_requests_in_flight`.
pub struct Running(prometheus::IntGauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process's metrics (one node per process).
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        Metrics::new().unwrap_or_else(|e| panic!("metric definitions are invalid: {e}"))
    })
}
