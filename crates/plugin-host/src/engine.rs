//! The one wasmtime `Engine`: its configuration (pooling, fuel, epochs, only the wasm
//! features the ABI needs) and the epoch ticker thread.

use crate::error::PluginError;
use crate::limits::HostConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, WasmFeatures,
};

/// Largest function table a plugin may have; Rust plugins have a few hundred entries.
pub(crate) const TABLE_ELEMENTS: usize = 10_000;

pub(crate) fn build(config: &HostConfig) -> Result<Engine, PluginError> {
    let mut pool = PoolingAllocationConfig::new();
    // One instance, one memory and one table per call in flight; nothing else.
    pool.total_core_instances(config.max_instances)
        .total_memories(config.max_instances)
        .total_tables(config.max_instances)
        .total_component_instances(0)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(config.max_memory_bytes)
        // Keep touched pages of a released slot resident and reset them with memset instead
        // of madvise: cheaper for small plugin memories. The memset covers the whole initial
        // memory, so examples link with a small one (64 KiB). Resetting only the written
        // pages (`pagemap_scan`) was measured twice and is off: its page-table walk in the
        // kernel cost as much as the memset it saved (decisions 011 and 025).
        .linear_memory_keep_resident(256 << 10)
        .table_keep_resident(64 << 10);

    let mut wasm = Config::new();
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .consume_fuel(config.consume_fuel)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        // Backtraces are captured on every trap; a hostile plugin traps on purpose.
        .wasm_backtrace_max_frames(None)
        // A plugin gets far less native stack than the server thread it runs on.
        .max_wasm_stack(256 << 10);
    // The ABI needs a single 32-bit memory and scalar code. What rustc emits for
    // wasm32-unknown-unknown (bulk memory, multi-value, reference types for call_indirect,
    // sign extension, saturating conversions) stays on; everything else is off.
    for feature in [
        WasmFeatures::SIMD,
        WasmFeatures::RELAXED_SIMD,
        WasmFeatures::THREADS,
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        WasmFeatures::MULTI_MEMORY,
        WasmFeatures::MEMORY64,
        WasmFeatures::TAIL_CALL,
        WasmFeatures::FUNCTION_REFERENCES,
        WasmFeatures::GC,
        WasmFeatures::EXCEPTIONS,
        WasmFeatures::WIDE_ARITHMETIC,
        WasmFeatures::CUSTOM_PAGE_SIZES,
        WasmFeatures::STACK_SWITCHING,
        WasmFeatures::COMPONENT_MODEL,
    ] {
        wasm.wasm_features(feature, false);
    }
    Engine::new(&wasm).map_err(PluginError::Engine)
}

/// Advances the engine's epoch every tick, which is what bounds a call's wall time. Stops and
/// joins when dropped (with the host).
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub(crate) fn start(engine: Engine, tick: std::time::Duration) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
