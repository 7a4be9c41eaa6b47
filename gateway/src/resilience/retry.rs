//! When a failed call may be tried again: the safety rule, the retry budget and the backoff.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::call::Class;

/// Window over which the retry budget counts calls and retries.
pub const BUDGET_WINDOW: Duration = Duration::from_secs(10); // Linkerd's: long enough to smooth bursts

/// Whether a call that failed with `class` may be sent again: always when it certainly never
/// ran (`never_ran`, from [`crate::call::AttemptError::never_ran`]); for idempotent
/// functions after any failure except bad parameters (which fail everywhere); never once
/// results have started to arrive.
pub fn safe_to_retry(
    never_ran: bool,
    class: Class,
    idempotent: bool,
    results_started: bool,
) -> bool {
    if results_started {
        return false;
    }
    if never_ran {
        return true;
    }
    idempotent && !matches!(class, Class::BadParams | Class::BadResults)
}

/// A budget of retries: at most `percent` of the calls in the last [`BUDGET_WINDOW`], plus
/// `min_per_second` retries per second whatever the traffic, so a failing provider cannot
/// multiply the load.
#[derive(Debug)]
pub struct RetryBudget {
    percent: u32,
    min_per_second: u32,
    calls: VecDeque<Instant>,
    retries: VecDeque<Instant>,
}

/// Most events remembered per kind; beyond this the oldest are forgotten early.
const MAX_EVENTS: usize = 1 << 16; // bounds memory under any load

impl RetryBudget {
    /// A budget allowing `percent` of calls as retries, and `min_per_second` regardless.
    pub fn new(percent: u32, min_per_second: u32) -> Self {
        RetryBudget {
            percent,
            min_per_second,
            calls: VecDeque::new(),
            retries: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        for q in [&mut self.calls, &mut self.retries] {
            while q
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > BUDGET_WINDOW)
            {
                q.pop_front();
            }
        }
    }

    /// Records a first attempt.
    pub fn record_call(&mut self, now: Instant) {
        self.expire(now);
        if self.calls.len() >= MAX_EVENTS {
            self.calls.pop_front();
        }
        self.calls.push_back(now);
    }

    /// Takes one retry from the budget if there is one left.
    pub fn try_retry(&mut self, now: Instant) -> bool {
        self.expire(now);
        let floor = u64::from(self.min_per_second) * BUDGET_WINDOW.as_secs();
        let share = self.calls.len() as u64 * u64::from(self.percent) / 100;
        if (self.retries.len() as u64) < floor + share {
            if self.retries.len() >= MAX_EVENTS {
                self.retries.pop_front();
            }
            self.retries.push_back(now);
            true
        } else {
            false
        }
    }
}

/// The wait before retry number `retry` (1 for the first): exponential from `base`, capped at
/// `max`, with full jitter so that callers retrying together spread out.
pub fn backoff(retry: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let cap = exp.min(max);
    cap.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_rule() {
        assert!(safe_to_retry(true, Class::Unreachable, false, false));
        assert!(!safe_to_retry(false, Class::NoProvider, false, false));
        assert!(!safe_to_retry(false, Class::Lost, false, false));
        assert!(!safe_to_retry(false, Class::Deadline, false, false));
        assert!(safe_to_retry(false, Class::Lost, true, false));
        assert!(safe_to_retry(false, Class::Trap, true, false));
        assert!(!safe_to_retry(false, Class::BadParams, true, false));
        assert!(!safe_to_retry(true, Class::Unreachable, true, true));
    }

    #[test]
    fn budget_is_a_share_of_calls_plus_a_floor() {
        let t = Instant::now();
        let mut b = RetryBudget::new(20, 0);
        assert!(!b.try_retry(t), "no calls, no floor: no retries");
        for _ in 0..100 {
            b.record_call(t);
        }
        let granted = (0..100).filter(|_| b.try_retry(t)).count();
        assert_eq!(granted, 20);
        // The window passes: the calls and retries are forgotten.
        let later = t + BUDGET_WINDOW + Duration::from_secs(1);
        assert!(!b.try_retry(later));
        let mut floor = RetryBudget::new(0, 1);
        let granted = (0..100).filter(|_| floor.try_retry(t)).count();
        assert_eq!(granted as u64, BUDGET_WINDOW.as_secs());
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let base = Duration::from_millis(10);
        let max = Duration::from_millis(100);
        for retry in 1..40 {
            assert!(backoff(retry, base, max) <= max);
        }
        assert!(backoff(1, base, max) <= base);
    }
}
