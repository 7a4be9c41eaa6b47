//! What serves each instance, as `witmesh routes` shows it, and the WIT of an instance fetched
//! from a remote provider for callers that have none.

use std::time::{Duration, Instant};

use serde::Serialize;
use witmesh_proto::wit::reflect;
use witmesh_proto::Value;

use super::Router;
use crate::call::{Provider, Target};
use crate::resilience::breaker::State;
use crate::telemetry::metrics::BreakerState;

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
    pub breaker: BreakerState,
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
                                    Target::Local(l) => format!("local:{}", l.component.name()),
                                    Target::Remote(a) => a.to_string(),
                                },
                                source: p.source.clone(),
                                breaker: match h.map(|h| h.breaker.state()) {
                                    None | Some(State::Closed) => BreakerState::Closed,
                                    Some(State::Open(_)) => BreakerState::Open,
                                    Some(State::Probing) => BreakerState::Probing,
                                },
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

    /// The WIT of `instance` from a remote provider of it (its `witmesh:mesh/reflect`), for
    /// callers that have no WIT of their own: the provider's own instance name and its WIT
    /// files. `None` when no remote provider answered.
    pub async fn remote_wit(
        &self,
        instance: &str,
        timeout: Duration,
    ) -> Option<(String, Vec<(String, String)>)> {
        let reflect = reflect::reflect_func();
        let (providers, _, _) = self.providers(instance, None, None);
        let deadline = Instant::now() + timeout;
        for p in providers
            .iter()
            .filter(|p| matches!(p.target, Target::Remote(_)))
        {
            let at = Provider {
                instance: reflect::REFLECT.to_owned(),
                ..p.clone()
            };
            let params = [Value::String(p.instance.clone())];
            let answer = self
                .attempt("reflect", &at, reflect, &params, &mut None, deadline)
                .await;
            match answer.as_deref() {
                Ok([files]) => {
                    if let Some(files) = reflect::files_of(files) {
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
}
