//! The wasmtime engines (one per ABI, see [`Abi`]) and the epoch clock that enforces call
//! deadlines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the engine's epoch advances: the granularity with which a call that runs past
/// its deadline inside wasm is interrupted.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Core instances, memories and tables one component instance may need: a Rust component
/// has a handful of core modules (its code, adapters, shims), each with a memory and tables.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
/// See [`CORE_INSTANCES_PER_COMPONENT`].
const MEMORIES_PER_COMPONENT: u32 = 2;
/// See [`CORE_INSTANCES_PER_COMPONENT`].
const TABLES_PER_COMPONENT: u32 = 4;
/// Linear memory kept mapped between uses of a pool slot: reusing it avoids page faults on
/// every call's stack and heap.
const KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// How many instances of an engine's components may exist at once and how large their
/// memories may grow: the engine's pool is sized from this up front.
#[derive(Clone, Copy, Debug)]
pub struct PoolSize {
    /// Most component instances alive at once (the sum of its components' concurrency).
    pub instances: u32,
    /// The largest memory limit of its components, in bytes.
    pub max_memory: usize,
}

/// Which ABI a component is built for, and so which engine runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// The component model without async: almost every component. Its engine has no
    /// concurrency support, so each call runs straight on its fiber, without the cost of
    /// wasmtime's concurrent event loop (see `docs/benchmarks.md`).
    Sync,
    /// The async ABI (`async func`, streams and futures a component passes itself, see
    /// `host::async_imports`): its engine runs calls in wasmtime's concurrent event loop.
    Async,
}

/// An engine configured for serving components built for `abi`: async host calls, epoch
/// interruption, and a pooling allocator so that a fresh instance per call costs no memory
/// mapping.
pub fn new_engine(pool: PoolSize, abi: Abi) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    match abi {
        Abi::Sync => {
            config.concurrency_support(false);
        }
        Abi::Async => {
            config.wasm_component_model_async(true);
        }
    }
    config.epoch_interruption(true);
    let n = pool.instances.max(1);
    let mut p = PoolingAllocationConfig::default();
    p.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
        .max_memory_size(pool.max_memory)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
    Engine::new(&config).map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))
}

/// Advances the engines' epochs every [`EPOCH_TICK`] on a thread of its own (so busy async
/// workers cannot stop it) until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the epoch clock for `engines`.
pub fn spawn_epoch_ticker(engines: Vec<Engine>) -> std::io::Result<EpochTicker> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("witmesh-epoch".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                for engine in &engines {
                    engine.increment_epoch();
                }
            }
        })?;
    Ok(EpochTicker { stop })
}
