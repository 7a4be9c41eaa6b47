//! Outlier ejection: a provider that fails `threshold` calls in a row is ejected for a
//! back-off period; then one probe call decides whether it returns or is ejected again for
//! twice as long (up to [`MAX_EJECTION_FACTOR`] times the base).

use std::time::{Duration, Instant};

/// Longest ejection, as a multiple of the configured one.
pub const MAX_EJECTION_FACTOR: u32 = 8; // a dead peer is probed at least every few tens of seconds

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls flow.
    Closed,
    /// Ejected until the instant; no calls.
    Open(Instant),
    /// One probe call is in flight; no other calls.
    Probing,
}

/// One provider's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    base: Duration,
    failures: u32,
    ejections: u32,
    state: State,
}

impl Breaker {
    /// A closed breaker ejecting after `threshold` consecutive failures for `base`.
    pub fn new(threshold: u32, base: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            base,
            failures: 0,
            ejections: 0,
            state: State::Closed,
        }
    }

    /// The state, for display.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a call may go to this provider at `now`; when the ejection is over this
    /// admits exactly one call, the probe.
    pub fn admit(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed => true,
            State::Probing => false,
            State::Open(until) if now >= until => {
                self.state = State::Probing;
                true
            }
            State::Open(_) => false,
        }
    }

    /// Whether the provider could take a call at `now`, without taking the probe.
    pub fn available(&self, now: Instant) -> bool {
        match self.state {
            State::Closed => true,
            State::Probing => false,
            State::Open(until) => now >= until,
        }
    }

    /// The probe was abandoned before it had an outcome: another call may probe at once.
    pub fn abandon(&mut self, now: Instant) {
        if self.state == State::Probing {
            self.state = State::Open(now);
        }
    }

    /// Records a success: the breaker closes.
    pub fn success(&mut self) {
        self.failures = 0;
        self.ejections = 0;
        self.state = State::Closed;
    }

    /// Records a failure at `now`; returns whether it ejected the provider.
    pub fn failure(&mut self, now: Instant) -> bool {
        match self.state {
            State::Probing => {
                self.eject(now);
                true
            }
            State::Open(_) => false,
            State::Closed => {
                self.failures += 1;
                if self.failures >= self.threshold {
                    self.eject(now);
                    true
                } else {
                    false
                }
            }
        }
    }

    fn eject(&mut self, now: Instant) {
        let factor = 1u32 << self.ejections.min(MAX_EJECTION_FACTOR.trailing_zeros());
        self.ejections += 1;
        self.failures = 0;
        self.state = State::Open(now + self.base * factor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejects_after_consecutive_failures_and_a_probe_decides() {
        let t = Instant::now();
        let base = Duration::from_secs(1);
        let mut b = Breaker::new(3, base);
        assert!(!b.failure(t));
        b.success();
        assert!(!b.failure(t));
        assert!(!b.failure(t));
        assert!(b.failure(t), "third consecutive failure ejects");
        assert!(!b.admit(t));
        assert!(!b.available(t + base / 2));
        // After the ejection one probe goes through, and no second call.
        assert!(b.admit(t + base));
        assert!(!b.admit(t + base));
        // The probe fails: ejected again, for twice as long.
        assert!(b.failure(t + base));
        assert!(!b.admit(t + base * 2));
        assert!(b.admit(t + base * 3));
        // The probe succeeds: closed.
        b.success();
        assert_eq!(b.state(), State::Closed);
        assert!(b.admit(t + base * 3));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let t = Instant::now();
        let base = Duration::from_secs(1);
        let mut b = Breaker::new(1, base);
        b.failure(t);
        assert!(b.admit(t + base));
        assert!(!b.admit(t + base), "one probe at a time");
        b.abandon(t + base);
        assert!(b.admit(t + base), "the abandoned probe left no stuck state");
        b.success();
        b.abandon(t + base);
        assert_eq!(
            b.state(),
            State::Closed,
            "abandoning a closed breaker changes nothing"
        );
    }

    #[test]
    fn ejection_growth_is_capped() {
        let t = Instant::now();
        let base = Duration::from_secs(1);
        let mut b = Breaker::new(1, base);
        let mut now = t;
        for _ in 0..20 {
            b.failure(now);
            let State::Open(until) = b.state() else {
                panic!("not open")
            };
            assert!(until - now <= base * MAX_EJECTION_FACTOR);
            now = until;
            assert!(b.admit(now));
        }
    }
}
