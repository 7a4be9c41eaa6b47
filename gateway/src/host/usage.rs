//! What a component uses right now: live instances and their linear memory, kept by a
//! resource limiter around each store's limits and read by the metrics endpoint.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use wasmtime::{ResourceLimiter, StoreLimits};

/// A component's live instances and the bytes of linear memory they hold.
#[derive(Debug, Default)]
pub struct Usage {
    instances: AtomicI64,
    memory: AtomicI64,
}

impl Usage {
    /// Live instances (stores), idle ones included.
    pub fn instances(&self) -> u64 {
        u64::try_from(self.instances.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Bytes of linear memory of the live instances.
    pub fn memory_bytes(&self) -> u64 {
        u64::try_from(self.memory.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

/// One store's limits, counting its memory into its component's [`Usage`] until dropped.
pub struct Meter {
    limits: StoreLimits,
    usage: Arc<Usage>,
    memory: usize,
}

impl Meter {
    /// Counts a new instance of the component using `usage`.
    pub fn new(limits: StoreLimits, usage: Arc<Usage>) -> Self {
        usage.instances.fetch_add(1, Ordering::Relaxed);
        Meter {
            limits,
            usage,
            memory: 0,
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.usage.instances.fetch_sub(1, Ordering::Relaxed);
        self.usage
            .memory
            .fetch_sub(i64::try_from(self.memory).unwrap_or(0), Ordering::Relaxed);
    }
}

impl ResourceLimiter for Meter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            let grown = desired.saturating_sub(current);
            self.memory = self.memory.saturating_add(grown);
            self.usage
                .memory
                .fetch_add(i64::try_from(grown).unwrap_or(0), Ordering::Relaxed);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
