//! The load: calls of one function, closed-loop (each of N workers calls again as soon as its
//! call ends) or open-loop at a fixed rate, where each call's latency counts from the moment
//! it was due, so a server that stalls cannot hide the queue it causes (coordinated omission
//! corrected).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;
use witmesh_proto::codec::Limits;
use witmesh_proto::{Func, Value};

use crate::client::{CallFailure, Caller};

/// Highest latency the histogram holds, µs; slower calls count at this value.
pub const MAX_LATENCY_US: u64 = 3_600_000_000; // an hour: beyond any deadline

/// How late the timer may wake an open-loop call before the lateness counts as backlog.
const TIMER_SLACK: Duration = Duration::from_millis(2); // tokio's timer ticks every millisecond

/// When a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many calls.
    Calls(u64),
    /// After this long.
    For(Duration),
}

/// How to load the function.
#[derive(Clone, Debug)]
pub struct Plan {
    /// When the measured run ends.
    pub stop: Stop,
    /// Most calls in flight.
    pub concurrency: usize,
    /// Calls per second, open-loop; `None` runs closed-loop.
    pub rate: Option<f64>,
    /// Each call's deadline.
    pub timeout: Duration,
    /// Bounds on the results read.
    pub limits: Limits,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Latency of every call (failed ones too), µs.
    pub latency: Histogram<u64>,
    /// Calls that returned results.
    pub ok: u64,
    /// Failed calls by failure class (or kind, where no class is known).
    pub errors: BTreeMap<String, u64>,
    /// From the first call's start to the last call's end.
    pub elapsed: Duration,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// Nothing measured yet.
    pub fn new() -> Self {
        Tally {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|e| unreachable!("fixed histogram bounds are valid: {e}")),
            ok: 0,
            errors: BTreeMap::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// Calls made.
    pub fn calls(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    fn record(&mut self, took: Duration, result: Result<(), CallFailure>) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(us.clamp(1, MAX_LATENCY_US));
        match result {
            Ok(()) => self.ok += 1,
            Err(f) => {
                let class = f
                    .class
                    .map_or_else(|| f.kind.as_str().to_owned(), |c| c.as_str().to_owned());
                *self.errors.entry(class).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        for (k, n) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += n;
        }
    }
}

/// The call being made, shared by the workers.
#[derive(Clone)]
pub struct Work {
    /// Where calls go; call `i` uses caller `i % len` (one per connection).
    pub callers: Arc<[Caller]>,
    /// The function.
    pub func: Arc<Func>,
    /// Its parameters.
    pub params: Arc<[Value]>,
}

impl Work {
    async fn call(&self, i: u64, plan: &Plan) -> Result<(), CallFailure> {
        let caller = &self.callers[(i % self.callers.len() as u64) as usize];
        caller
            .call(&self.func, self.params.to_vec(), plan.limits, plan.timeout)
            .await
            .map(drop)
    }
}

/// Runs `plan` against `work`; `done` counts finished calls as they end (for progress).
pub async fn run(work: &Work, plan: &Plan, done: Arc<AtomicU64>) -> Tally {
    let started = Instant::now();
    let mut tally = match plan.rate {
        None => closed_loop(work, plan, &done).await,
        Some(rate) => open_loop(work, plan, rate, &done).await,
    };
    tally.elapsed = started.elapsed();
    tally
}

async fn closed_loop(work: &Work, plan: &Plan, done: &Arc<AtomicU64>) -> Tally {
    let issued = Arc::new(AtomicU64::new(0));
    let end = match plan.stop {
        Stop::For(d) => Some(Instant::now() + d),
        Stop::Calls(_) => None,
    };
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            let (work, plan, issued, done) =
                (work.clone(), plan.clone(), issued.clone(), done.clone());
            tokio::spawn(async move {
                let mut tally = Tally::new();
                loop {
                    let i = issued.fetch_add(1, Ordering::Relaxed);
                    let more = match (plan.stop, end) {
                        (Stop::Calls(n), _) => i < n,
                        (_, Some(end)) => Instant::now() < end,
                        (Stop::For(_), None) => false,
                    };
                    if !more {
                        return tally;
                    }
                    let t0 = Instant::now();
                    let result = work.call(i, &plan).await;
                    tally.record(t0.elapsed(), result);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut tally = Tally::new();
    for w in workers {
        if let Ok(t) = w.await {
            tally.merge(&t);
        }
    }
    tally
}

async fn open_loop(work: &Work, plan: &Plan, rate: f64, done: &Arc<AtomicU64>) -> Tally {
    let slots = Arc::new(tokio::sync::Semaphore::new(plan.concurrency.max(1)));
    let shared = Arc::new(Mutex::new(Tally::new()));
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let start = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    let mut i = 0u64;
    loop {
        let due = start + interval.mul_f64(i as f64);
        let more = match plan.stop {
            Stop::Calls(n) => i < n,
            Stop::For(d) => due < start + d,
        };
        if !more {
            break;
        }
        tokio::time::sleep_until(due).await;
        // Latency counts from when the call was due, so waiting for a free slot or a backlog
        // of late calls counts; the timer's own lateness (its 1 ms tick) is the generator's,
        // not the server's, and is left out when that is all there is.
        let woke = Instant::now();
        let due = if woke.duration_since(due) <= TIMER_SLACK {
            woke
        } else {
            due
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (work, plan, shared, done) = (work.clone(), plan.clone(), shared.clone(), done.clone());
        calls.spawn(async move {
            let result = work.call(i, &plan).await;
            let took = due.elapsed();
            drop(slot);
            if let Ok(mut t) = shared.lock() {
                t.record(took, result);
            }
            done.fetch_add(1, Ordering::Relaxed);
        });
        i += 1;
        while calls.try_join_next().is_some() {}
    }
    while calls.join_next().await.is_some() {}
    let tally = shared
        .lock()
        .map(|t| t.clone())
        .unwrap_or_else(|_| Tally::new());
    tally
}
