//! The one deadline race: an attempt either finishes by its deadline or fails as
//! [`AttemptError::Deadline`] (or the caller's own error, [`by`]), naming the time it had.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::time::error::Elapsed;

use super::error::AttemptError;

/// Runs `attempt` until `deadline`. Past it the attempt is dropped and `late` turns the
/// deadline failure (after the time the attempt had) into the caller's error.
pub async fn within<T, E>(
    deadline: Instant,
    attempt: impl Future<Output = Result<T, E>>,
    late: impl FnOnce(AttemptError) -> E,
) -> Result<T, E> {
    by(deadline, attempt, |after| {
        late(AttemptError::Deadline { after })
    })
    .await
}

/// [`within`] for a `timeout` from now, which the deadline failure names as it was given.
pub async fn within_for<T, E>(
    timeout: Duration,
    attempt: impl Future<Output = Result<T, E>>,
    late: impl FnOnce(AttemptError) -> E,
) -> Result<T, E> {
    by_for(timeout, attempt, |after| {
        late(AttemptError::Deadline { after })
    })
    .await
}

/// The race itself, for errors that are not attempts' (a component's call, a parameter
/// read): `attempt` until `deadline` (std or tokio time), else `late` of the time it had.
pub async fn by<T, E>(
    deadline: impl Into<tokio::time::Instant>,
    attempt: impl Future<Output = Result<T, E>>,
    late: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    let deadline = deadline.into();
    let had = deadline.saturating_duration_since(tokio::time::Instant::now());
    race(tokio::time::timeout_at(deadline, attempt), had, late).await
}

/// [`by`] for a `timeout` from now.
pub async fn by_for<T, E>(
    timeout: Duration,
    attempt: impl Future<Output = Result<T, E>>,
    late: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    race(tokio::time::timeout(timeout, attempt), timeout, late).await
}

async fn race<T, E>(
    timed: impl Future<Output = Result<Result<T, E>, Elapsed>>,
    had: Duration,
    late: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    match timed.await {
        Ok(r) => r,
        Err(_) => Err(late(had)),
    }
}

/// [`within`] for an attempt whose error is already an [`AttemptError`].
pub async fn attempt_within<T>(
    deadline: Instant,
    attempt: impl Future<Output = Result<T, AttemptError>>,
) -> Result<T, AttemptError> {
    within(deadline, attempt, |e| e).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_late_attempt_fails_with_the_time_it_had() {
        let deadline = Instant::now() + Duration::from_millis(20);
        let r: Result<(), _> = attempt_within(deadline, std::future::pending()).await;
        match r {
            Err(AttemptError::Deadline { after }) => assert!(after <= Duration::from_millis(20)),
            other => panic!("expected a deadline failure, got {other:?}"),
        }
        let ok = attempt_within(deadline + Duration::from_secs(5), async { Ok(7) }).await;
        assert_eq!(ok.ok(), Some(7));
    }
}
