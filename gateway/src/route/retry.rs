//! When a failed attempt is tried again: within the call's deadline, only when it is safe
//! ([`crate::resilience::retry::safe_to_retry`]), allowed and granted by the retry budget, after
//! a backoff.

use std::future::Future;
use std::time::Instant;

use witmesh_config::RouteConfig;
use witmesh_proto::Func;

use super::Router;
use crate::call::{AttemptError, ForwardError};
use crate::resilience::retry::{backoff, safe_to_retry};
use crate::telemetry::metrics;

/// A failed attempt, for [`Router::give_up`].
struct Failed<'a> {
    func: &'a Func,
    attempt: &'a AttemptError,
    /// Attempts made so far, this one included.
    attempts: u32,
    started: Instant,
    deadline: Instant,
    /// Whether this call may be attempted again at all (attempts left, its stream replayable).
    allowed: bool,
    idempotent: bool,
}

/// How one attempt of a call ended, for [`Router::drive`].
pub(super) enum Tried<T> {
    /// The provider answered.
    Answered(T),
    /// The attempt at the provider `key` failed. `allowed` says whether the call may be
    /// attempted again at all (attempts left, its stream replayable); `deadline` is the call's.
    Failed {
        error: AttemptError,
        key: String,
        deadline: Instant,
        allowed: bool,
    },
}

/// One attempt of a call, made by [`Router::drive`] until one answers or the call gives up.
pub(super) trait Attempt<T> {
    /// Makes attempt number `attempts` (the first is 1).
    fn run(&mut self, attempts: u32)
        -> impl Future<Output = Result<Tried<T>, ForwardError>> + Send;
}

impl Router {
    /// The one retry driver, for plain and streaming calls alike: runs `attempt` with each
    /// attempt's number until a provider answers, an attempt ends the call
    /// (`Err`), or [`Router::give_up`] says stop; backs off between attempts.
    pub(super) async fn drive<T>(
        &self,
        caller: &str,
        func: &Func,
        started: Instant,
        attempt: &mut (impl Attempt<T> + Send),
    ) -> Result<T, ForwardError> {
        let idempotent = self.mesh.is_idempotent(&func.instance, &func.name);
        if let Ok(mut b) = self.budget.lock() {
            b.record_call(started);
        }
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (error, key, deadline, allowed) = match attempt.run(attempts).await? {
                Tried::Answered(answer) => return Ok(answer),
                Tried::Failed {
                    error,
                    key,
                    deadline,
                    allowed,
                } => (error, key, deadline, allowed),
            };
            tracing::debug!(
                caller,
                instance = func.instance.as_str(),
                function = func.name.as_str(),
                provider = key.as_str(),
                attempt = attempts,
                class = error.class().as_str(),
                "attempt failed: {error}"
            );
            let failed = Failed {
                func,
                attempt: &error,
                attempts,
                started,
                deadline,
                allowed,
                idempotent,
            };
            if let Some(err) = self.give_up(&failed, &key) {
                return Err(err);
            }
            self.back_off(attempts, deadline).await;
        }
    }

    /// After the failed attempt `f` at the provider `key`: the error to return, or `None`
    /// when the call goes on to another attempt (the deadline has room, the retry is safe and
    /// allowed, and the retry budget grants it).
    fn give_up(&self, f: &Failed<'_>, key: &str) -> Option<ForwardError> {
        let (func, e) = (f.func, f.attempt);
        let now = Instant::now();
        if now >= f.deadline {
            return Some(ForwardError::Deadline {
                instance: func.instance.clone(),
                func: func.name.clone(),
                timeout: f.deadline.saturating_duration_since(f.started),
                attempts: f.attempts,
                provider: key.to_owned(),
            });
        }
        let wanted =
            f.allowed && safe_to_retry(e.never_ran(), e.class(), f.idempotent, e.results_started());
        let retry = wanted
            && self
                .budget
                .lock()
                .map(|mut b| b.try_retry(now))
                .unwrap_or(false);
        if retry {
            metrics::global().retry(&func.instance, &func.name);
            return None;
        }
        if wanted {
            metrics::global().budget_exhausted(&func.instance, &func.name);
        }
        Some(ForwardError::Failed {
            instance: func.instance.clone(),
            func: func.name.clone(),
            provider: key.to_owned(),
            attempts: f.attempts,
            last: e.clone(),
        })
    }

    /// Attempts a call may take, the first included: its route's `retries` + 1, else
    /// `[mesh] max_attempts`.
    pub(super) fn max_attempts(&self, route: Option<&RouteConfig>) -> u32 {
        route
            .map(|r| r.retries.saturating_add(1))
            .filter(|n| *n > 1)
            .unwrap_or(self.mesh.max_attempts)
            .max(1)
    }

    /// Waits before attempt `attempts + 1`: exponential backoff with jitter, never past the
    /// call's `deadline`.
    async fn back_off(&self, attempts: u32, deadline: Instant) {
        let wait = backoff(
            attempts,
            self.mesh.backoff_base.get(),
            self.mesh.backoff_max.get(),
        );
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(wait.min(left)).await;
    }
}
