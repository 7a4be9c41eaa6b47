//! Peak-EWMA latency: an exponentially weighted moving average that jumps up to a slow sample
//! at once and decays back slowly, so a provider that turns slow is avoided immediately.

use std::time::{Duration, Instant};

/// Time over which past samples lose most of their weight.
pub const DECAY: Duration = Duration::from_secs(10); // Finagle's and Linkerd's choice: reacts in seconds, forgets in tens
/// Latency assumed of a provider that has not answered yet.
pub const DEFAULT_RTT: Duration = Duration::from_millis(1); // optimistic, so new providers get tried

/// A provider's latency estimate.
#[derive(Debug, Clone, Copy)]
pub struct PeakEwma {
    /// Estimate in nanoseconds.
    cost_ns: f64,
    stamp: Instant,
}

impl PeakEwma {
    /// A fresh estimate at `now`.
    pub fn new(now: Instant) -> Self {
        PeakEwma {
            cost_ns: DEFAULT_RTT.as_nanos() as f64,
            stamp: now,
        }
    }

    /// Adds a sample taken at `now`.
    pub fn observe(&mut self, rtt: Duration, now: Instant) {
        let rtt = rtt.as_nanos() as f64;
        if rtt > self.cost_ns {
            self.cost_ns = rtt;
        } else {
            let w = self.weight(now);
            self.cost_ns = self.cost_ns * w + rtt * (1.0 - w);
        }
        self.stamp = now;
    }

    /// The estimate at `now`, in nanoseconds. It decays while no sample arrives, so a
    /// provider that lost every comparison for a while (passed over, or away and back) looks
    /// cheap again and gets tried: without this, of two providers the slower would never be
    /// sampled again.
    pub fn get(&self, now: Instant) -> f64 {
        (self.cost_ns * self.weight(now)).max(1.0)
    }

    fn weight(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.stamp).as_nanos() as f64;
        (-elapsed / DECAY.as_nanos() as f64).exp()
    }
}

/// The load figure power-of-two-choices compares at `now`: latency times (in-flight calls +
/// 1).
pub fn load(ewma: &PeakEwma, in_flight: u64, now: Instant) -> f64 {
    ewma.get(now) * (in_flight as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_to_peaks_and_decays_towards_fast_samples() {
        let t0 = Instant::now();
        let mut e = PeakEwma::new(t0);
        e.observe(Duration::from_millis(100), t0);
        assert!((e.get(t0) - 100e6).abs() < 1.0);
        // Fast samples pull it down, more so the longer since the last one.
        let t1 = t0 + Duration::from_secs(10);
        e.observe(Duration::from_millis(1), t1);
        let after = e.get(t1);
        assert!(after < 50e6 && after > 1e6, "{after}");
    }

    #[test]
    fn a_provider_passed_over_looks_cheap_again_with_time() {
        let t0 = Instant::now();
        let mut slow = PeakEwma::new(t0);
        slow.observe(Duration::from_millis(5), t0);
        let mut fast = PeakEwma::new(t0);
        fast.observe(Duration::from_millis(1), t0);
        assert!(slow.get(t0) > fast.get(t0));
        // The fast one keeps being sampled at 1 ms; the slow one gets no samples at all.
        let t1 = t0 + Duration::from_secs(30);
        fast.observe(Duration::from_millis(1), t1);
        assert!(
            slow.get(t1) < fast.get(t1),
            "{} {}",
            slow.get(t1),
            fast.get(t1)
        );
    }

    #[test]
    fn load_grows_with_in_flight_calls() {
        let t = Instant::now();
        let e = PeakEwma::new(t);
        assert!(load(&e, 3, t) > load(&e, 0, t));
    }
}
