//! What the router knows of each provider: its breaker, latency estimate and calls in flight,
//! learned from every attempt and read when the next provider is picked.

use std::time::{Duration, Instant};

use super::balance::{self, Health};
use super::Router;
use crate::call::{AttemptError, Class};
use crate::resilience::breaker::{Breaker, State};

/// An attempt under way: released (no longer in flight, its probe free again) if it is
/// dropped before its outcome is recorded.
pub(super) struct AttemptGuard<'a> {
    pub(super) router: &'a Router,
    pub(super) key: &'a str,
    pub(super) probe: bool,
    pub(super) done: bool,
}

impl AttemptGuard<'_> {
    /// The attempt has an outcome, which the caller records.
    pub(super) fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for AttemptGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.router.release(self.key, self.probe);
        }
    }
}

impl Router {
    /// The provider for the next attempt; a `pinned` call takes its one provider even while
    /// ejected (the resource lives nowhere else).
    /// Returns the provider's index and whether this attempt took its breaker's probe.
    pub(super) fn pick(
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
    pub(super) fn release(&self, key: &str, probe: bool) {
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
    pub(super) fn record(
        &self,
        key: &str,
        elapsed: Duration,
        failure: Option<&AttemptError>,
        pinned: bool,
    ) {
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
}
