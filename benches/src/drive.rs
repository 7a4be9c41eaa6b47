//! The load driver: a batch of calls spread over concurrent workers, each timed.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

/// `calls` calls of `call` spread over `concurrency` workers, each with one call in flight;
/// returns every latency (nanoseconds) and the wall time. `call` checks its own answer; any
/// error, or a call slower than `timeout`, fails the batch with `what` and the call's place.
pub async fn batch<F, Fut>(
    concurrency: usize,
    calls: usize,
    timeout: Duration,
    what: &str,
    call: F,
) -> Result<(Vec<u64>, Duration)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let n = calls / concurrency + usize::from(w < calls % concurrency);
        if n == 0 {
            continue;
        }
        let (call, what) = (call.clone(), what.to_owned());
        workers.spawn(async move {
            let mut lat = Vec::with_capacity(n);
            for i in 0..n {
                let t = Instant::now();
                tokio::time::timeout(timeout, call())
                    .await
                    .with_context(|| {
                        format!("{what}: worker {w} call {i} timed out after {timeout:?}")
                    })?
                    .with_context(|| format!("{what}: worker {w} call {i} failed"))?;
                lat.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
            anyhow::Ok(lat)
        });
    }
    let mut all = Vec::with_capacity(calls);
    while let Some(res) = workers.join_next().await {
        all.extend(res.context("worker panicked")??);
    }
    Ok((all, start.elapsed()))
}
