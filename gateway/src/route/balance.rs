//! Power of two choices over peak-EWMA load: pick two providers at random among those the
//! breakers admit and that this call has not tried yet, and take the less loaded.

use std::time::Instant;

use crate::resilience::breaker::Breaker;
use crate::resilience::ewma::{load, PeakEwma};

/// What the balancer knows of one provider.
#[derive(Debug, Clone)]
pub struct Health {
    /// Latency estimate.
    pub ewma: PeakEwma,
    /// Calls in flight to it from this node.
    pub in_flight: u64,
    /// Outlier ejection.
    pub breaker: Breaker,
    /// Calls that succeeded and failed, for display.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
}

impl Health {
    /// A provider seen for the first time at `now`.
    pub fn new(breaker: Breaker, now: Instant) -> Self {
        Health {
            ewma: PeakEwma::new(now),
            in_flight: 0,
            breaker,
            ok: 0,
            failed: 0,
        }
    }
}

/// The index of the provider to use among `healths`, skipping those in `tried` while others
/// remain; `None` when the breakers admit none.
pub fn pick(healths: &[&Health], tried: &[usize], now: Instant) -> Option<usize> {
    let mut open: Vec<usize> = (0..healths.len())
        .filter(|i| healths[*i].breaker.available(now) && !tried.contains(i))
        .collect();
    if open.is_empty() {
        open = (0..healths.len())
            .filter(|i| healths[*i].breaker.available(now))
            .collect();
    }
    match open.len() {
        0 => None,
        1 => Some(open[0]),
        n => {
            let a = fastrand::usize(..n);
            let mut b = fastrand::usize(..n - 1);
            if b >= a {
                b += 1;
            }
            let (a, b) = (open[a], open[b]);
            let la = load(&healths[a].ewma, healths[a].in_flight, now);
            let lb = load(&healths[b].ewma, healths[b].in_flight, now);
            Some(if lb < la { b } else { a })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn health(rtt_ms: u64, in_flight: u64, now: Instant) -> Health {
        let mut h = Health::new(Breaker::new(1, Duration::from_secs(1)), now);
        h.ewma.observe(Duration::from_millis(rtt_ms), now);
        h.in_flight = in_flight;
        h
    }

    #[test]
    fn prefers_the_less_loaded_of_two() {
        let now = Instant::now();
        let fast = health(1, 0, now);
        let slow = health(50, 0, now);
        for _ in 0..100 {
            assert_eq!(pick(&[&fast, &slow], &[], now), Some(0));
        }
        let busy = health(1, 100, now);
        assert_eq!(pick(&[&busy, &slow], &[], now), Some(1));
    }

    #[test]
    fn spreads_over_equal_providers_and_skips_ejected_and_tried_ones() {
        let now = Instant::now();
        let hs: Vec<Health> = (0..4).map(|_| health(1, 0, now)).collect();
        let refs: Vec<&Health> = hs.iter().collect();
        let mut seen = [0; 4];
        for _ in 0..400 {
            seen[pick(&refs, &[], now).unwrap_or(9)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 20), "{seen:?}");
        let mut ejected = health(1, 0, now);
        ejected.breaker.failure(now);
        let ok = health(30, 0, now);
        assert_eq!(pick(&[&ejected, &ok], &[], now), Some(1));
        assert_eq!(pick(&[&ejected], &[], now), None);
        let a = health(1, 0, now);
        assert_eq!(
            pick(&[&a, &ok], &[0], now),
            Some(1),
            "tried providers come last"
        );
        assert!(pick(&[&a, &ok], &[0, 1], now).is_some());
    }
}
