//! Running one call under the component's deadline, memory limit and concurrency limit, in a
//! warm instance taken from the component's idle list or a fresh one.
//!
//! Instance mode `reuse` (the default) keeps instances warm: instantiation dominated the cost
//! of a call in the serving bench (`docs/benchmarks.md`), so a call takes an idle instance when there is one and returns it when it succeeds. Any
//! failure (trap, deadline, out-of-memory, a value that cannot cross) discards the instance,
//! so nothing poisoned is reused; concurrency is unchanged, since each running call holds its
//! own instance. Mode `fresh` instantiates per call for components that must not keep state
//! between callers. Functions that pass resource handles run in the component's one resident
//! instance instead, which keeps its resources ([`super::resident`]).

use std::time::{Duration, Instant};

use tokio::time::Instant as Deadline;

use wasmtime::component::{Instance, Val};
use wasmtime::{Store, StoreLimitsBuilder, Trap};
use witmesh_config::InstanceMode;
use witmesh_proto::Value;

use super::async_imports;
use super::convert::{from_vals, to_vals, ConvertError, Handles, NoHandles};
use super::resident::{ExportTable, Resident};
use super::state::CallState;
use super::typed::TypedCall;
use super::{wasi, Export, LoadedComponent};
use crate::call::deadline::by;
use crate::call::{ByteStream, Class, ForwardError};

/// Why a call failed. Each ends that call only.
#[derive(Clone, Debug, thiserror::Error)]
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
    /// A call the component made through one of its imports failed, which failed this call.
    #[error("an imported call failed: {message}")]
    Forwarded {
        /// The imported call's failure class, which this call takes on.
        class: Class,
        /// What the router reported.
        message: String,
    },
}

impl CallError {
    /// The failure's class, as logs, metrics and callers are told it. The component ran when an import failed, so
    /// an import's refusal that would read as this node's own (no room, no such function) is
    /// told as unreachable: no caller may take it for a call that never ran here.
    #[must_use]
    pub fn class(&self) -> Class {
        match self {
            CallError::Forwarded {
                class: Class::Overloaded | Class::UnknownFunction,
                ..
            } => Class::Unreachable,
            CallError::Overloaded { .. } => Class::Overloaded,
            CallError::Deadline(_) => Class::Deadline,
            CallError::Trap(_) => Class::Trap,
            CallError::Instantiate(_) | CallError::Convert(_) => Class::Internal,
            CallError::Forwarded { class, .. } => *class,
        }
    }
}

/// An instance with its store, ready for another call.
pub(crate) struct Warm {
    pub(super) store: Store<CallState>,
    pub(super) instance: Instance,
}

impl Warm {
    /// Calls `export` with `args` by `deadline`, its results made codec values with handles
    /// from `handles`.
    async fn invoke(
        &mut self,
        export: &Export,
        args: &[Val],
        deadline: Deadline,
        handles: &mut (dyn Handles + Send),
    ) -> Result<Vec<Value>, CallError> {
        let func = &export.func;
        self.arm(deadline);
        let f = self
            .instance
            .get_func(&mut self.store, export.index)
            .ok_or_else(|| CallError::Instantiate(format!("export `{}` vanished", func.name)))?;
        let mut results = vec![Val::Bool(false); func.results.len()];
        f.call_async(&mut self.store, args, &mut results)
            .await
            .map_err(|e| classify(e, CallError::Trap))?;
        Ok(from_vals(&func.results, &results, handles)?)
    }

    /// Calls `export` through its typed signature with the codec's `params` by `deadline`.
    async fn invoke_typed(
        &mut self,
        export: &Export,
        typed: TypedCall,
        params: &[Value],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CallError> {
        self.arm(deadline);
        typed(self, export, params).await
    }

    /// Makes the next call in this instance stop at the next epoch tick past `deadline`.
    fn arm(&mut self, deadline: Deadline) {
        self.store.set_epoch_deadline(1);
        self.store.data_mut().deadline = Some(deadline.into_std());
    }
}

impl LoadedComponent {
    /// Calls `export` with `params` (already type-checked by the codec) and returns its results,
    /// or fails once `deadline` passes (the caller's deadline, which parameter reading already
    /// used part of).
    pub async fn call(
        &self,
        export: &Export,
        params: &[Value],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CallError> {
        self.call_streaming(export, params, None, deadline).await
    }

    /// [`LoadedComponent::call`] for an export whose one parameter is a `stream<u8>`: the
    /// component reads `input` as it arrives (only components built for the async ABI can).
    /// The instance is not reused afterwards: it may not have read the stream to its end.
    pub async fn call_streaming(
        &self,
        export: &Export,
        params: &[Value],
        input: Option<ByteStream>,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CallError> {
        let start = Instant::now();
        if let Some(resident) = self.resident.as_ref().filter(|_| export.handles) {
            // One call at a time in the resident instance: its lock is the concurrency limit.
            return self
                .call_resident(resident, export, params, deadline, start)
                .await;
        }
        let time_left = deadline.saturating_duration_since(Deadline::now());
        let _slot = self.slot(deadline).await?;
        // Wasm yields to the runtime every epoch tick, so this timeout fires even for a call
        // that never leaves wasm; dropping the future drops the store and instance with it.
        let run = self.run(export, params, input, deadline);
        by(deadline, run, |_| CallError::Deadline(time_left)).await
    }

    async fn run(
        &self,
        export: &Export,
        params: &[Value],
        input: Option<ByteStream>,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CallError> {
        let func = &export.func;
        let streamed = input.is_some();
        let typed = export.typed.filter(|_| !streamed);
        let mut args = if streamed || typed.is_some() {
            Vec::new()
        } else {
            to_vals(&func.params, params, &mut NoHandles)?
        };
        let reuse = self.policy.instances == InstanceMode::Reuse && !streamed;
        let idle = if reuse { self.take_idle() } else { None };
        let mut warm = match idle {
            Some(w) => w,
            None => self.instantiate().await?,
        };
        if let Some(input) = input {
            // The stream belongs to this instance's store.
            let stream = async_imports::stream_for(&mut warm.store, input, func)
                .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
            args.push(stream);
        }
        let values = match typed {
            Some(typed) => warm.invoke_typed(export, typed, params, deadline).await?,
            None => warm.invoke(export, &args, deadline, &mut NoHandles).await?,
        };
        if reuse {
            self.put_idle(warm);
        }
        Ok(values)
    }

    /// A call in the resident instance: it waits its turn until `deadline`, and takes the
    /// instance out while it runs, so a call that fails or is abandoned midway leaves no
    /// half-run instance behind (the next call makes a fresh one).
    async fn call_resident(
        &self,
        resident: &tokio::sync::Mutex<Option<Resident>>,
        export: &Export,
        params: &[Value],
        deadline: Deadline,
        start: Instant,
    ) -> Result<Vec<Value>, CallError> {
        let time_left = deadline.saturating_duration_since(Deadline::now());
        let lock = async { Ok(resident.lock().await) };
        let mut slot = by(deadline, lock, |_| CallError::Overloaded {
            limit: 1,
            waited: start.elapsed(),
        })
        .await?;
        let current = match slot.take() {
            Some(r) => r,
            None => Resident {
                warm: by(deadline, self.instantiate(), |_| {
                    CallError::Deadline(time_left)
                })
                .await?,
                table: ExportTable::new(self.name.clone()),
            },
        };
        let run = self.run_resident(current, export, params, deadline);
        match by(deadline, run, |_| (CallError::Deadline(time_left), None)).await {
            Ok((values, kept)) => {
                *slot = Some(kept);
                Ok(values)
            }
            // Parameters the instance never saw (a handle it did not issue): it is intact.
            Err((e, Some(kept))) => {
                *slot = Some(kept);
                Err(e)
            }
            Err((e, None)) => {
                tracing::warn!(
                    component = &*self.name,
                    "a failed call discarded the instance keeping the resources: {e}"
                );
                Err(e)
            }
        }
    }

    async fn run_resident(
        &self,
        mut r: Resident,
        export: &Export,
        params: &[Value],
        deadline: Deadline,
    ) -> Result<(Vec<Value>, Resident), (CallError, Option<Resident>)> {
        let func = &export.func;
        let args = match to_vals(&func.params, params, &mut r.table) {
            Ok(args) => args,
            Err(e) => {
                r.table.restore_moving();
                return Err((e.into(), Some(r)));
            }
        };
        r.table.commit_moving();
        self.run_in(&mut r, export, &args, deadline)
            .await
            .map(|values| (values, r))
            .map_err(|e| (e, None))
    }

    async fn run_in(
        &self,
        r: &mut Resident,
        export: &Export,
        args: &[Val],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CallError> {
        let values = r.warm.invoke(export, args, deadline, &mut r.table).await?;
        for ended in std::mem::take(&mut r.table.evicted) {
            ended
                .resource_drop_async(&mut r.warm.store)
                .await
                .map_err(|e| classify(e, CallError::Trap))?;
        }
        Ok(values)
    }

    fn take_idle(&self) -> Option<Warm> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn put_idle(&self, warm: Warm) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.policy.max_concurrency {
                idle.push(warm);
            }
        }
    }

    /// One of the component's concurrency slots, waited for until `deadline`: held for as long
    /// as the call runs.
    pub(super) async fn slot(
        &self,
        deadline: Deadline,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, CallError> {
        let start = Deadline::now();
        let overloaded = || CallError::Overloaded {
            limit: self.policy.max_concurrency,
            waited: start.elapsed(),
        };
        let acquire = async {
            self.slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| overloaded())
        };
        by(deadline, acquire, |_| overloaded()).await
    }

    pub(super) async fn instantiate(&self) -> Result<Warm, CallError> {
        let mut store = self.new_store()?;
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| classify(e, CallError::Instantiate))?;
        Ok(Warm { store, instance })
    }

    /// A fresh store under the component's policy: WASI context, memory limit, and a yield to
    /// the async runtime at every epoch tick.
    pub(crate) fn new_store(&self) -> Result<Store<CallState>, CallError> {
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
                limits: super::usage::Meter::new(limits, self.usage.clone()),
                http: wasmtime_wasi_http::WasiHttpCtx::new(),
                http_policy: self.http_policy.clone(),
                deadline: None,
                links: Default::default(),
                remote: Default::default(),
            },
        );
        store.limiter(|s| &mut s.limits);
        // Yield to the async runtime at every epoch tick: long-running wasm shares the worker
        // threads, and the call's deadline is enforced by the timeout around it.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        Ok(store)
    }
}

/// The error for a wasmtime failure: a failed forwarded import keeps its own class;
/// interruptions do not happen (wasm yields instead), so everything else is the component's
/// own failure.
pub(super) fn classify(e: wasmtime::Error, other: fn(String) -> CallError) -> CallError {
    if let Some(f) = e.downcast_ref::<ForwardError>() {
        return CallError::Forwarded {
            class: f.class(),
            message: f.to_string(),
        };
    }
    if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        CallError::Trap("interrupted".to_owned())
    } else {
        other(format!("{e:#}"))
    }
}
