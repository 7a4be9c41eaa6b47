//! The shared wasmtime engine and the epoch clock that enforces call deadlines.

use std::time::Duration;

use tokio::task::JoinHandle;
use wasmtime::{Config, Engine};

/// How often the engine's epoch advances: the granularity with which a call that runs past
/// its deadline inside wasm is interrupted.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// An engine configured for serving: components, async host calls, epoch interruption.
pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    Engine::new(&config).map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the runtime shuts down.
pub fn spawn_epoch_ticker(engine: Engine) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EPOCH_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            engine.increment_epoch();
        }
    })
}

/// Epoch ticks covering `d`, rounded up, at least one.
pub(crate) fn ticks(d: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    u64::try_from(d.as_nanos().div_ceil(tick))
        .unwrap_or(u64::MAX)
        .max(1)
}
