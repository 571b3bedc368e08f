//! A loaded plugin version: the pre-linked module, proven at load to instantiate within its
//! limits (start function included) and to declare an ABI version this host runs, and the
//! mechanics of one call — a fresh store from the pool bounded in fuel, epochs and memory, the
//! input written through `touchstone_alloc`, the hook run, the bounded output read back.
//! [`Session`](crate::Session) decides which calls share an instance and checks answers.

use crate::counters::PluginCounters;
use crate::error::PluginError;
use crate::limits::Limits;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use touchstone_plugin_sdk::abi::{
    ABI_MINOR_VERSION, ABI_VERSION, EXPORT_ABI_VERSION, EXPORT_ALLOC, EXPORT_MEMORY, Eligibility,
    EligibleContext, EventContext, EventDecision, Hook, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN,
    PayloadContext, Payloads,
};
use wasmtime::{
    Caller, Engine, InstancePre, Linker, Module, ModuleExport, PoolConcurrencyLimitError,
    ResourceLimiter, Store, Trap, ValRaw,
};

/// Longest log line a plugin may write, and most lines per call: a plugin must not be able
/// to flood the server's log.
const MAX_LOG_LINE: usize = 1024;
const MAX_LOG_LINES: u32 = 16;
/// Wall-clock bound of the trial instance at load, in epoch ticks (1 ms each by default).
const TRIAL_EPOCH_TICKS: u64 = 1000;

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
    abi_minor: u32,
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
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log_lines: u32,
    /// The plugin's log lines, kept for `touchstone plugin run` (the server only logs them).
    pub(crate) captured: Option<Vec<LogLine>>,
}

/// A line a plugin wrote through `touchstone.log`, as the host read it (at most 1024 bytes,
/// invalid UTF-8 replaced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// 1 error, 2 warn, 3 info, 4 debug; anything else is logged at trace level.
    pub level: u32,
    pub message: String,
}

/// Refuses memory growth past the plugin's limit and remembers that it did, so the trap that
/// follows (Rust aborts on allocation failure) is reported as `MemoryLimit`.
pub(crate) struct MemoryLimiter {
    limit: usize,
    pub(crate) refused: bool,
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
    let line = String::from_utf8_lossy(bytes).into_owned();
    let state = caller.data_mut();
    if let Some(captured) = &mut state.captured {
        captured.push(LogLine {
            level,
            message: line.clone(),
        });
    }
    let plugin = &*state.plugin;
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
            abi_minor: 0,
        };
        let abi_minor = plugin.trial()?;
        Ok(LoadedPlugin {
            abi_minor,
            ..plugin
        })
    }

    /// A trial instance proves it fits the limits and that a start function, if any, finishes
    /// within a call's budget (it runs at the start of every instance): better refused now than
    /// failing every call. Returns the ABI minor version the module declares (0: none, 1.0).
    fn trial(&self) -> Result<u32, PluginError> {
        let mut store = self.store(false);
        // Fuel bounds the start function as in a call; the wall-clock deadline is a second
        // rather than a call's few ticks, so a busy machine does not refuse a good module.
        store.set_epoch_deadline(self.limits.epoch_ticks.max(TRIAL_EPOCH_TICKS));
        let instance = self.pre.instantiate(&mut store).map_err(|error| {
            if error.downcast_ref::<Trap>().is_some() || store.data().limiter.refused {
                PluginError::Start(Box::new(classify(error, &store)))
            } else {
                PluginError::Instantiate(error)
            }
        })?;
        let Some(export) = instance.get_export(&mut store, EXPORT_ABI_VERSION) else {
            return Ok(0);
        };
        let declared = export
            .into_func()
            .and_then(|func| func.typed::<(), u32>(&store).ok())
            .ok_or(PluginError::BadSignature {
                export: EXPORT_ABI_VERSION,
                expected: "() -> i32",
            })?
            .call(&mut store, ())
            .map_err(|error| {
                PluginError::AbiVersion(format!(
                    "? (`{EXPORT_ABI_VERSION}` failed: {})",
                    classify(error, &store)
                ))
            })?;
        let (major, minor) = (declared / 100, declared % 100);
        if major != ABI_VERSION || minor > ABI_MINOR_VERSION {
            return Err(PluginError::AbiVersion(format!(
                "{major}.{minor} (`{EXPORT_ABI_VERSION}` returned {declared}, which is major * 100 + minor)"
            )));
        }
        Ok(minor)
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

    /// The ABI minor version the module declared it was built for (0 without a declaration).
    /// From 1 on, one request's calls may share an instance ([`Session`](crate::Session)).
    pub fn abi_minor_version(&self) -> u32 {
        self.abi_minor
    }

    /// A session for one request: its calls share one instance when the module was built for
    /// ABI 1.1 or later, and each gets a fresh one otherwise.
    pub fn session(&self) -> crate::Session<'_> {
        crate::Session::new(self)
    }

    /// Decides eligibility for every experiment in `ctx.experiments` in one call. An
    /// experiment the plugin left out is not eligible. On `Err`, treat all as not eligible.
    pub fn eligible<C: Serialize>(
        &self,
        ctx: &EligibleContext<C>,
    ) -> Result<Eligibility, PluginError> {
        self.session().eligible(ctx)
    }

    /// Shapes payloads for every assignment in `ctx.assignments` in one call. An experiment the
    /// plugin left out keeps its static payload. On `Err`, keep every static payload.
    pub fn payload<C: Serialize>(&self, ctx: &PayloadContext<C>) -> Result<Payloads, PluginError> {
        self.session().payload(ctx)
    }

    /// One decision per event of `ctx.events`, in order. A rewrite keeps the event's `id` and
    /// `unit_id`. On `Err`, accept every event unchanged (or reject, as configured).
    pub fn event<C: Serialize>(
        &self,
        ctx: &EventContext<C>,
    ) -> Result<Vec<EventDecision>, PluginError> {
        self.session().event(ctx)
    }

    /// Instances created for calls of this plugin's name so far (every version; not the
    /// trial instance at load). A request to a module built for ABI 1.1 costs one.
    pub fn instances_created(&self) -> u64 {
        self.counters.instances()
    }

    pub(crate) fn counters(&self) -> &PluginCounters {
        &self.counters
    }

    pub(crate) fn consume_fuel(&self) -> bool {
        self.consume_fuel
    }

    pub(crate) fn store(&self, capture_logs: bool) -> Store<CallState> {
        let mut store = Store::new(
            &self.engine,
            CallState {
                plugin: Arc::clone(&self.name),
                limiter: MemoryLimiter {
                    limit: self.limits.memory_bytes,
                    refused: false,
                },
                log_lines: 0,
                captured: capture_logs.then(Vec::new),
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

    /// A fresh instance from the pool, with the exports a call needs.
    pub(crate) fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> Result<CallExports, PluginError> {
        self.counters.record_instance();
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
            .map(AllocFunc)
            .ok_or(PluginError::MissingAlloc)?;
        let mut hooks = [None, None, None];
        for (slot, export) in hooks.iter_mut().zip(&self.hook_exports) {
            if let Some(export) = export {
                *slot = instance
                    .get_module_export(&mut *store, export)
                    .and_then(|export| export.into_func())
                    .map(HookFunc);
            }
        }
        Ok(CallExports {
            memory,
            alloc,
            hooks,
        })
    }

    /// Input written where the guest's allocator put it, the hook run, its output copied out.
    pub(crate) fn round_trip(
        &self,
        store: &mut Store<CallState>,
        exports: &CallExports,
        hook: Hook,
        input: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let Some(hook_func) = &exports.hooks[hook_index(hook)] else {
            return Err(PluginError::HookMissing(hook));
        };
        // `limits.input_bytes` keeps the length well inside u32.
        let len = input.len() as u32;
        let ptr = exports
            .alloc
            .call(&mut *store, len)
            .map_err(|error| classify(error, store))?;
        let memory_size = exports.memory.data_size(&*store);
        if ptr == 0 {
            return Err(PluginError::BadAlloc(format!(
                "touchstone_alloc({len}) returned 0: the plugin could not reserve memory for the input"
            )));
        }
        exports
            .memory
            .write(&mut *store, ptr as usize, input)
            .map_err(|_| {
                PluginError::BadAlloc(format!(
                    "touchstone_alloc({len}) returned {ptr}, a wild pointer: its memory is {memory_size} bytes, so {len} bytes do not fit there"
                ))
            })?;
        let packed = hook_func
            .call(&mut *store, ptr, len)
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

pub(crate) fn hook_index(hook: Hook) -> usize {
    match hook {
        Hook::Eligible => 0,
        Hook::Payload => 1,
        Hook::Event => 2,
    }
}

/// The exports calls use, from one instance: the hooks in ABI order.
pub(crate) struct CallExports {
    memory: wasmtime::Memory,
    alloc: AllocFunc,
    hooks: [Option<HookFunc>; 3],
}

/// An instance's `touchstone_alloc`, `(i32) -> i32`.
///
/// Why not `Func::typed`: it checks the signature and loads the function type from the
/// engine's type registry (a lock and an `Arc` round trip) for every export of every instance,
/// three per request; measured at ~5 % of a request's plugin cost (decision 025). The
/// signatures were checked once, when the module was admitted.
pub(crate) struct AllocFunc(wasmtime::Func);

/// An instance's hook export, `(i32, i32) -> i64`.
pub(crate) struct HookFunc(wasmtime::Func);

impl AllocFunc {
    #[allow(unsafe_code)]
    fn call(&self, store: &mut Store<CallState>, len: u32) -> wasmtime::Result<u32> {
        let mut slots = [ValRaw::u32(len)];
        // SAFETY: every module is admitted through `validate::check_shape`, which refuses one
        // whose `touchstone_alloc` is not `(i32) -> i32`; so `slots` holds the one parameter
        // and has room for the one result, and no reference types are involved.
        unsafe {
            self.0
                .call_unchecked(&mut *store, &mut slots as *mut [ValRaw])?
        };
        Ok(slots[0].get_u32())
    }
}

impl HookFunc {
    #[allow(unsafe_code)]
    fn call(&self, store: &mut Store<CallState>, ptr: u32, len: u32) -> wasmtime::Result<u64> {
        let mut slots = [ValRaw::u32(ptr), ValRaw::u32(len)];
        // SAFETY: `validate::check_shape` admits a hook export only with the signature
        // `(i32, i32) -> i64`; `slots` holds both parameters and has room for the one result.
        unsafe {
            self.0
                .call_unchecked(&mut *store, &mut slots as *mut [ValRaw])?
        };
        Ok(slots[0].get_u64())
    }
}

/// Turns a wasmtime failure into the typed error. Memory first: a refused growth shows up as
/// whatever the guest does next (Rust aborts with `unreachable`).
pub(crate) fn classify(error: wasmtime::Error, store: &Store<CallState>) -> PluginError {
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
        let mut store = self.store(false);
        let exports = self.instantiate(&mut store)?;
        let Some(hook_func) = &exports.hooks[hook_index(hook)] else {
            return Err(PluginError::HookMissing(hook));
        };
        hook_func
            .call(&mut store, 0, 0)
            .map_err(|error| classify(error, &store))
    }

    /// `calls` round trips of `hook` through ONE live instance: input JSON encoded, written,
    /// the hook run, its answer read and decoded — what a call costs apart from getting a
    /// fresh instance. Only for the benchmark.
    pub(crate) fn live_instance_calls<I: Serialize>(
        &self,
        hook: Hook,
        input: &I,
        calls: usize,
    ) -> Result<std::time::Duration, PluginError> {
        let mut store = self.store(false);
        if self.consume_fuel {
            let _ = store.set_fuel(self.limits.fuel.saturating_mul(calls as u64));
        }
        store.set_epoch_deadline(u64::MAX / 2);
        let exports = self.instantiate(&mut store)?;
        let started = std::time::Instant::now();
        for _ in 0..calls {
            let input = serde_json::to_vec(input).map_err(PluginError::MalformedOutput)?;
            let output = self.round_trip(&mut store, &exports, hook, &input)?;
            serde_json::from_slice::<serde_json::Value>(&output)
                .map_err(PluginError::MalformedOutput)?;
        }
        Ok(started.elapsed())
    }
}
