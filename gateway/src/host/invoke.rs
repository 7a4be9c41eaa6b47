//! Running one call: a fresh store and instance, under the component's deadline, memory limit
//! and concurrency limit.
//!
//! Fresh instance per call, deliberately: a component's state cannot leak between callers, a
//! trap or out-of-memory poisons nothing, and calls to the same function run in parallel
//! without a lock. The price is instantiation per call (tens of microseconds for small
//! components, measured by the serving bench); resources therefore cannot outlive a call.

use std::time::{Duration, Instant};

use wasmtime::component::Val;
use wasmtime::{Store, StoreLimitsBuilder, Trap};
use witmesh_proto::Value;

use super::convert::{from_val, to_val, ConvertError};
use super::engine::ticks;
use super::state::CallState;
use super::{wasi, Export, LoadedComponent};

/// Why a call failed. Each ends that call only.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Every concurrency slot stayed busy until the call's deadline.
    #[error("overloaded: {limit} calls already running and none finished within {waited:?}")]
    Overloaded {
        /// The component's concurrency limit.
        limit: usize,
        /// How long the call waited for a slot.
        waited: Duration,
    },
    /// The call ran past its deadline.
    #[error("deadline of {0:?} exceeded")]
    Deadline(Duration),
    /// The component trapped (including `unreachable`, a panic, or a failed memory growth).
    #[error("trap: {0}")]
    Trap(String),
    /// The component could not be instantiated for this call.
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// A value cannot cross the component boundary.
    #[error(transparent)]
    Convert(#[from] ConvertError),
}

impl CallError {
    /// A short, stable name for the failure class, for logs and metrics.
    #[must_use]
    pub fn class(&self) -> &'static str {
        match self {
            CallError::Overloaded { .. } => "overloaded",
            CallError::Deadline(_) => "deadline",
            CallError::Trap(_) => "trap",
            CallError::Instantiate(_) => "instantiate",
            CallError::Convert(_) => "unsupported",
        }
    }
}

impl LoadedComponent {
    /// Calls `export` with `params` (already type-checked by the codec) and returns its results.
    pub async fn call(&self, export: &Export, params: &[Value]) -> Result<Vec<Value>, CallError> {
        let start = Instant::now();
        let deadline = self.policy.call_timeout;
        let _slot = tokio::time::timeout(deadline, self.slots.acquire())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(CallError::Overloaded {
                limit: self.policy.max_concurrency,
                waited: start.elapsed(),
            })?;
        let remaining = deadline.saturating_sub(start.elapsed());
        match tokio::time::timeout(remaining, self.run(export, params, remaining)).await {
            Ok(result) => result,
            // A call blocked in the host (a sleep, a socket) past its deadline: dropping the
            // future drops the store and the instance with it.
            Err(_) => Err(CallError::Deadline(deadline)),
        }
    }

    async fn run(
        &self,
        export: &Export,
        params: &[Value],
        budget: Duration,
    ) -> Result<Vec<Value>, CallError> {
        let func = &export.func;
        let args = func
            .params
            .iter()
            .zip(params)
            .map(|(t, v)| to_val(t, v))
            .collect::<Result<Vec<Val>, _>>()?;
        let wasi = wasi::context(&self.name, &self.policy)
            .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.policy.memory_limit)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.engine,
            CallState {
                component: self.name.clone(),
                wasi,
                table: Default::default(),
                limits,
                http: wasmtime_wasi_http::WasiHttpCtx::new(),
                http_policy: self.http_policy.clone(),
            },
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(ticks(budget));
        store.epoch_deadline_trap();
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| classify(e, budget, CallError::Instantiate))?;
        let f = instance
            .get_func(&mut store, export.index)
            .ok_or_else(|| CallError::Instantiate(format!("export `{}` vanished", func.name)))?;
        let mut results = vec![Val::Bool(false); func.results.len()];
        f.call_async(&mut store, &args, &mut results)
            .await
            .map_err(|e| classify(e, budget, CallError::Trap))?;
        func.results
            .iter()
            .zip(&results)
            .map(|(t, v)| from_val(t, v).map_err(CallError::from))
            .collect()
    }
}

/// Tells an epoch interruption (deadline) from other traps.
fn classify(e: wasmtime::Error, budget: Duration, other: fn(String) -> CallError) -> CallError {
    if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        CallError::Deadline(budget)
    } else {
        other(format!("{e:#}"))
    }
}
