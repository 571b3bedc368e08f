//! A loaded plugin version and its calls: each call instantiates the pre-linked module in a
//! fresh store from the pool (no state survives between units), bounded in fuel, epochs and
//! memory, writes the input JSON through `touchstone_alloc`, runs the hook and reads back
//! the bounded, checked answer.

use crate::counters::PluginCounters;
use crate::error::PluginError;
use crate::limits::Limits;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use touchstone_plugin_sdk::abi::{
    EXPORT_ALLOC, EXPORT_MEMORY, Eligibility, EligibleContext, EventContext, EventDecision, Hook,
    HookOutput, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, PayloadContext, Payloads,
};
use wasmtime::{
    Caller, Engine, InstancePre, Linker, Module, ModuleExport, PoolConcurrencyLimitError,
    ResourceLimiter, Store, Trap,
};

/// Longest log line a plugin may write, and most lines per call: a plugin must not be able
/// to flood the server's log.
const MAX_LOG_LINE: usize = 1024;
const MAX_LOG_LINES: u32 = 16;

/// One version of one plugin, ready to call. Cheap to share (`Arc`); a hot swap replaces the
/// registry's `Arc`, so calls holding this one finish on it.
pub struct LoadedPlugin {
    name: Arc<str>,
    version: String,
    sha256: String,
    hooks: Vec<Hook>,
    limits: Limits,
    consume_fuel: bool,
    engine: Engine,
    module: Module,
    pre: InstancePre<CallState>,
    memory: ModuleExport,
    alloc: ModuleExport,
    hook_exports: [Option<ModuleExport>; 3],
    counters: Arc<PluginCounters>,
    compiled: crate::Compiled,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("hooks", &self.hooks)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Per-call store data.
pub(crate) struct CallState {
    plugin: Arc<str>,
    limiter: MemoryLimiter,
    log_lines: u32,
}

/// Refuses memory growth past the plugin's limit and remembers that it did, so the trap that
/// follows (Rust aborts on allocation failure) is reported as `MemoryLimit`.
struct MemoryLimiter {
    limit: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

/// `(short version, full sha256 hex)` of a module's bytes.
pub(crate) fn version_of(bytes: &[u8]) -> (String, String) {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    (hex[..12].to_owned(), hex)
}

/// The host functions a plugin may import: only `touchstone.log`.
pub(crate) fn linker(engine: &Engine) -> Result<Linker<CallState>, PluginError> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            touchstone_plugin_sdk::abi::IMPORT_MODULE,
            touchstone_plugin_sdk::abi::IMPORT_LOG,
            host_log,
        )
        .map_err(PluginError::Engine)?;
    Ok(linker)
}

fn host_log(mut caller: Caller<'_, CallState>, level: u32, ptr: u32, len: u32) {
    if caller.data().log_lines >= MAX_LOG_LINES {
        return;
    }
    caller.data_mut().log_lines += 1;
    let Some(memory) = caller
        .get_export(EXPORT_MEMORY)
        .and_then(|export| export.into_memory())
    else {
        return;
    };
    let start = ptr as usize;
    let end = start.saturating_add((len as usize).min(MAX_LOG_LINE));
    let data = memory.data(&caller);
    let Some(bytes) = data.get(start..end) else {
        return;
    };
    let line = String::from_utf8_lossy(bytes);
    let plugin = &*caller.data().plugin;
    match level {
        LOG_ERROR | LOG_WARN => tracing::warn!(plugin, message = %line, "plugin log"),
        LOG_INFO => tracing::info!(plugin, message = %line, "plugin log"),
        LOG_DEBUG => tracing::debug!(plugin, message = %line, "plugin log"),
        _ => tracing::trace!(plugin, message = %line, "plugin log"),
    }
}

pub(crate) struct NewPlugin<'a> {
    pub(crate) name: &'a str,
    pub(crate) bytes: &'a [u8],
    pub(crate) checked: crate::validate::Checked,
    pub(crate) limits: Limits,
    pub(crate) consume_fuel: bool,
    pub(crate) engine: &'a Engine,
    pub(crate) linker: &'a Linker<CallState>,
    pub(crate) counters: Arc<PluginCounters>,
}

impl LoadedPlugin {
    pub(crate) fn new(new: NewPlugin<'_>) -> Result<LoadedPlugin, PluginError> {
        let module = &new.checked.module;
        let export = |name: &str| module.get_export_index(name);
        let (Some(memory), Some(alloc)) = (export(EXPORT_MEMORY), export(EXPORT_ALLOC)) else {
            return Err(PluginError::MissingMemory);
        };
        let pre = new
            .linker
            .instantiate_pre(module)
            .map_err(PluginError::Instantiate)?;
        let (version, sha256) = version_of(new.bytes);
        let plugin = LoadedPlugin {
            name: Arc::from(new.name),
            version,
            sha256,
            hooks: new.checked.hooks.clone(),
            limits: new.limits,
            consume_fuel: new.consume_fuel,
            engine: new.engine.clone(),
            module: module.clone(),
            pre,
            memory,
            alloc,
            hook_exports: Hook::ALL.map(|hook| export(hook.as_str())),
            counters: new.counters,
            compiled: new.checked.compiled,
        };
        // A trial instance proves it fits the limits (initial memory, table) and that a start
        // function, if any, finishes within them: better refused now than failing every call.
        let mut store = plugin.store();
        plugin
            .pre
            .instantiate(&mut store)
            .map_err(PluginError::Instantiate)?;
        Ok(plugin)
    }

    /// The plugin's name in the registry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version: the first 12 hex digits of the module's SHA-256. Record it with every
    /// exposure the plugin influenced.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the module was compiled for this load or reused (precompiled artifact on disk,
    /// or the same bytes already loaded).
    pub fn compiled(&self) -> crate::Compiled {
        self.compiled
    }

    /// The module's full SHA-256, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The compiled module, shared with a later load of identical bytes.
    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    /// The hooks it exports, in ABI order.
    pub fn hooks(&self) -> &[Hook] {
        &self.hooks
    }

    pub fn has_hook(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decides eligibility for every experiment in `ctx.experiments` in one call. An
    /// experiment the plugin left out is not eligible. On `Err`, treat all as not eligible.
    pub fn eligible<C: Serialize>(
        &self,
        ctx: &EligibleContext<C>,
    ) -> Result<Eligibility, PluginError> {
        self.observe(Hook::Eligible, || {
            let answer: Eligibility = self.call_typed(Hook::Eligible, ctx)?;
            only_asked(answer.keys(), ctx.experiments.iter())?;
            Ok(answer)
        })
    }

    /// Shapes payloads for every assignment in `ctx.assignments` in one call. An experiment the
    /// plugin left out keeps its static payload. On `Err`, keep every static payload.
    pub fn payload<C: Serialize>(&self, ctx: &PayloadContext<C>) -> Result<Payloads, PluginError> {
        self.observe(Hook::Payload, || {
            let answer: Payloads = self.call_typed(Hook::Payload, ctx)?;
            only_asked(
                answer.keys(),
                ctx.assignments
                    .iter()
                    .map(|assignment| &assignment.experiment),
            )?;
            Ok(answer)
        })
    }

    /// One decision per event of `ctx.events`, in order. A rewrite keeps the event's `id` and
    /// `unit_id`. On `Err`, accept every event unchanged (or reject, as configured).
    pub fn event<C: Serialize>(
        &self,
        ctx: &EventContext<C>,
    ) -> Result<Vec<EventDecision>, PluginError> {
        self.observe(Hook::Event, || {
            let answer: Vec<EventDecision> = self.call_typed(Hook::Event, ctx)?;
            if answer.len() != ctx.events.len() {
                return Err(PluginError::InvalidAnswer(format!(
                    "{} decisions for {} events",
                    answer.len(),
                    ctx.events.len()
                )));
            }
            for (index, (decision, event)) in answer.iter().zip(&ctx.events).enumerate() {
                if let EventDecision::Rewrite { event: rewritten } = decision
                    && (rewritten.id != event.id || rewritten.unit_id != event.unit_id)
                {
                    return Err(PluginError::InvalidAnswer(format!(
                        "the rewrite of event {index} changes its id or unit_id"
                    )));
                }
            }
            Ok(answer)
        })
    }

    /// Calls a hook with raw JSON and returns the answer inside the `ok` envelope, unchecked:
    /// for `touchstone plugin run`. Failures are logged and counted like any call.
    pub fn call_json(
        &self,
        hook: Hook,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, PluginError> {
        self.observe(hook, || self.call_typed(hook, input))
    }

    /// Logs and counts a failed call: one place for every hook.
    fn observe<T>(
        &self,
        hook: Hook,
        call: impl FnOnce() -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let result = call();
        if let Err(error) = &result {
            let reason = error.reason();
            self.counters.record(hook, reason);
            tracing::warn!(
                plugin = &*self.name,
                version = %self.version,
                hook = hook.as_str(),
                reason,
                error = %crate::error::error_chain(error),
                "plugin call failed; the safe default applies"
            );
        }
        result
    }

    fn call_typed<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        hook: Hook,
        input: &I,
    ) -> Result<O, PluginError> {
        let input = serde_json::to_vec(input).map_err(PluginError::MalformedOutput)?;
        let output = self.call_raw(hook, &input)?;
        match serde_json::from_slice::<HookOutput<O>>(&output) {
            Ok(HookOutput::Ok(answer)) => Ok(answer),
            Ok(HookOutput::Error(message)) => Err(PluginError::Guest(message)),
            Err(error) => Err(PluginError::MalformedOutput(error)),
        }
    }

    fn store(&self) -> Store<CallState> {
        let mut store = Store::new(
            &self.engine,
            CallState {
                plugin: Arc::clone(&self.name),
                limiter: MemoryLimiter {
                    limit: self.limits.memory_bytes,
                    refused: false,
                },
                log_lines: 0,
            },
        );
        store.limiter(|state| &mut state.limiter);
        if self.consume_fuel {
            // Cannot fail: fuel is enabled on the engine.
            let _ = store.set_fuel(self.limits.fuel);
        }
        store.set_epoch_deadline(self.limits.epoch_ticks);
        store
    }

    /// One isolated call: fresh instance, input in, output bytes out (bounded, in memory).
    fn call_raw(&self, hook: Hook, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        if input.len() > self.limits.input_bytes {
            return Err(PluginError::InputTooLarge {
                size: input.len(),
                limit: self.limits.input_bytes,
            });
        }
        let mut store = self.store();
        let exports = self.instantiate(&mut store, hook)?;
        self.round_trip(&mut store, &exports, input)
    }

    /// A fresh instance from the pool, with the exports a call needs.
    fn instantiate(
        &self,
        store: &mut Store<CallState>,
        hook: Hook,
    ) -> Result<CallExports, PluginError> {
        let Some(export) =
            &self.hook_exports[Hook::ALL.iter().position(|h| *h == hook).unwrap_or(0)]
        else {
            return Err(PluginError::HookMissing(hook));
        };
        let instance = self
            .pre
            .instantiate(&mut *store)
            .map_err(|error| classify(error, store))?;
        let memory = instance
            .get_module_export(&mut *store, &self.memory)
            .and_then(|export| export.into_memory())
            .ok_or(PluginError::MissingMemory)?;
        let alloc = instance
            .get_module_export(&mut *store, &self.alloc)
            .and_then(|export| export.into_func())
            .ok_or(PluginError::MissingAlloc)?
            .typed::<u32, u32>(&*store)
            .map_err(|_| PluginError::MissingAlloc)?;
        let hook = instance
            .get_module_export(&mut *store, export)
            .and_then(|export| export.into_func())
            .ok_or(PluginError::HookMissing(hook))?
            .typed::<(u32, u32), u64>(&*store)
            .map_err(|_| PluginError::HookMissing(hook))?;
        Ok(CallExports {
            memory,
            alloc,
            hook,
        })
    }

    /// Input written where the guest's allocator put it, the hook run, its output copied out.
    fn round_trip(
        &self,
        store: &mut Store<CallState>,
        exports: &CallExports,
        input: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        // `limits.input_bytes` keeps the length well inside u32.
        let len = input.len() as u32;
        let ptr = exports
            .alloc
            .call(&mut *store, len)
            .map_err(|error| classify(error, store))?;
        exports
            .memory
            .write(&mut *store, ptr as usize, input)
            .map_err(|_| {
                PluginError::InvalidAnswer(format!(
                    "touchstone_alloc returned {ptr}, where {len} bytes do not fit"
                ))
            })?;
        let packed = exports
            .hook
            .call(&mut *store, (ptr, len))
            .map_err(|error| classify(error, store))?;
        let (out_ptr, out_len) = ((packed >> 32) as u32, packed as u32);
        if out_len as usize > self.limits.output_bytes {
            return Err(PluginError::OutputTooLarge {
                size: out_len as usize,
                limit: self.limits.output_bytes,
            });
        }
        let start = out_ptr as usize;
        exports
            .memory
            .data(&*store)
            .get(start..start + out_len as usize)
            .map(<[u8]>::to_vec)
            .ok_or(PluginError::OutputOutOfBounds {
                ptr: out_ptr,
                len: out_len,
            })
    }
}

/// The exports one call uses, from one instance.
struct CallExports {
    memory: wasmtime::Memory,
    alloc: wasmtime::TypedFunc<u32, u32>,
    hook: wasmtime::TypedFunc<(u32, u32), u64>,
}

fn only_asked<'a>(
    answered: impl Iterator<Item = &'a String>,
    asked: impl Iterator<Item = &'a String>,
) -> Result<(), PluginError> {
    let asked: BTreeSet<&String> = asked.collect();
    for key in answered {
        if !asked.contains(key) {
            return Err(PluginError::InvalidAnswer(format!(
                "answered for experiment `{key}`, which was not asked"
            )));
        }
    }
    Ok(())
}

/// Turns a wasmtime failure into the typed error. Memory first: a refused growth shows up as
/// whatever the guest does next (Rust aborts with `unreachable`).
fn classify(error: wasmtime::Error, store: &Store<CallState>) -> PluginError {
    if store.data().limiter.refused {
        return PluginError::MemoryLimit;
    }
    if error.is::<PoolConcurrencyLimitError>() {
        return PluginError::Busy;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PluginError::OutOfFuel,
        Some(Trap::Interrupt) => PluginError::Deadline,
        Some(Trap::StackOverflow) => PluginError::StackOverflow,
        Some(trap) => PluginError::Trap(trap.to_string()),
        None => PluginError::Trap(format!("{error:#}")),
    }
}

impl LoadedPlugin {
    /// The floor of a call: a fresh pooled instance with the same store setup, and a call of
    /// `hook` with no input and no JSON. Only for the benchmark.
    pub(crate) fn instantiate_and_call_empty(&self, hook: Hook) -> Result<u64, PluginError> {
        let mut store = self.store();
        let exports = self.instantiate(&mut store, hook)?;
        exports
            .hook
            .call(&mut store, (0, 0))
            .map_err(|error| classify(error, &store))
    }
}

impl LoadedPlugin {
    /// `calls` round trips of `hook` through ONE live instance: input JSON encoded, written,
    /// the hook run, its answer read and decoded — what a call costs apart from getting a
    /// fresh instance. Only for the benchmark: a live instance is never reused for units.
    pub(crate) fn live_instance_calls<I: Serialize>(
        &self,
        hook: Hook,
        input: &I,
        calls: usize,
    ) -> Result<std::time::Duration, PluginError> {
        let mut store = self.store();
        if self.consume_fuel {
            let _ = store.set_fuel(self.limits.fuel.saturating_mul(calls as u64));
        }
        store.set_epoch_deadline(u64::MAX / 2);
        let exports = self.instantiate(&mut store, hook)?;
        let started = std::time::Instant::now();
        for _ in 0..calls {
            let input = serde_json::to_vec(input).map_err(PluginError::MalformedOutput)?;
            let output = self.round_trip(&mut store, &exports, &input)?;
            serde_json::from_slice::<serde_json::Value>(&output)
                .map_err(PluginError::MalformedOutput)?;
        }
        Ok(started.elapsed())
    }
}
