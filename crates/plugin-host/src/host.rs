//! The registry the server holds: one engine, one linker, the loaded plugins by name behind
//! an `ArcSwap` (calls take no lock; a hot swap lets calls in flight finish on the old
//! version) and the failure counters by name.

use crate::counters::{FailureCount, FuelStats, PluginCounters};
use crate::engine::{self, Ticker};
use crate::error::PluginError;
use crate::limits::{HostConfig, Limits};
use crate::plugin::{CallState, LoadedPlugin, NewPlugin};
use crate::validate::{self, PluginReport};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use wasmtime::{Engine, Linker};

/// Loads, swaps and hands out plugins. Cheap to clone (one shared registry).
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    config: HostConfig,
    engine: Engine,
    linker: Linker<CallState>,
    plugins: ArcSwap<HashMap<String, Arc<LoadedPlugin>>>,
    /// Serialises writers (load, remove); readers never take it.
    write: Mutex<()>,
    counters: Mutex<HashMap<String, Arc<PluginCounters>>>,
    _ticker: Ticker,
}

impl PluginHost {
    /// Builds the engine and pool and starts the epoch ticker thread.
    pub fn new(config: HostConfig) -> Result<PluginHost, PluginError> {
        check_limits(&config, &config.default_limits)?;
        let engine = engine::build(&config)?;
        let linker = crate::plugin::linker(&engine)?;
        let ticker = Ticker::start(engine.clone(), config.epoch_tick)
            .map_err(|error| PluginError::Engine(wasmtime::Error::new(error)))?;
        Ok(PluginHost {
            inner: Arc::new(Inner {
                config,
                engine,
                linker,
                plugins: ArcSwap::from_pointee(HashMap::new()),
                write: Mutex::new(()),
                counters: Mutex::new(HashMap::new()),
                _ticker: ticker,
            }),
        })
    }

    /// The limits of plugins loaded without their own.
    pub fn default_limits(&self) -> Limits {
        self.inner.config.default_limits
    }

    /// Validates and compiles `bytes` with the default limits and makes it the plugin called
    /// `name`, replacing any previous version atomically. On error the previous version stays.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, PluginError> {
        self.load_with_limits(name, bytes, self.inner.config.default_limits)
    }

    /// [`load`](Self::load) with this plugin's own limits.
    pub fn load_with_limits(
        &self,
        name: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Arc<LoadedPlugin>, PluginError> {
        let counters = Arc::clone(
            self.inner
                .counters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(name.to_owned())
                .or_default(),
        );
        let plugin = Arc::new(self.prepare(name, bytes, limits, counters)?);
        self.update_plugins(|plugins| plugins.insert(name.to_owned(), Arc::clone(&plugin)));
        tracing::info!(plugin = name, version = plugin.version(), hooks = ?plugin.hooks(), "plugin loaded");
        Ok(plugin)
    }

    /// Every check a module must pass, and the trial instance: the one validation upload, the
    /// directory watcher and `touchstone plugin check` share.
    fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        limits: Limits,
        counters: Arc<PluginCounters>,
    ) -> Result<LoadedPlugin, PluginError> {
        check_limits(&self.inner.config, &limits)?;
        let sha256 = crate::plugin::version_of(bytes).1;
        let compiled = self
            .inner
            .plugins
            .load()
            .values()
            .find(|plugin| plugin.sha256() == sha256)
            .map(|plugin| plugin.module().clone());
        let checked = validate::check(
            &self.inner.engine,
            bytes,
            &limits,
            compiled,
            self.inner.config.cache_dir.as_deref(),
        )?;
        LoadedPlugin::new(NewPlugin {
            name,
            bytes,
            checked,
            limits,
            consume_fuel: self.inner.config.consume_fuel,
            engine: &self.inner.engine,
            linker: &self.inner.linker,
            counters,
        })
    }

    /// Applies `change` to a copy of the plugin map and swaps it in; writers are serialized so
    /// no change is lost, readers never wait.
    fn update_plugins<R>(
        &self,
        change: impl FnOnce(&mut HashMap<String, Arc<LoadedPlugin>>) -> R,
    ) -> R {
        let _writer = self
            .inner
            .write
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut plugins = HashMap::clone(&self.inner.plugins.load());
        let outcome = change(&mut plugins);
        self.inner.plugins.store(Arc::new(plugins));
        outcome
    }

    /// The current version of `name`. Hold the `Arc` for the whole request so that every hook
    /// of one request runs the same version.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.inner.plugins.load().get(name).cloned()
    }

    /// Unloads `name`; calls in flight finish. Returns whether it was loaded.
    pub fn remove(&self, name: &str) -> bool {
        self.update_plugins(|plugins| plugins.remove(name).is_some())
    }

    /// Every loaded plugin, sorted by name.
    pub fn plugins(&self) -> Vec<Arc<LoadedPlugin>> {
        let mut plugins: Vec<_> = self.inner.plugins.load().values().cloned().collect();
        plugins.sort_by(|a, b| a.name().cmp(b.name()));
        plugins
    }

    /// Non-zero failure counters per plugin, hook and reason (for a `_total` metric).
    pub fn failure_counts(&self) -> Vec<FailureCount> {
        let counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut counts = Vec::new();
        for (plugin, counter) in counters.iter() {
            counter.snapshot(plugin, &mut counts);
        }
        counts.sort_by(|a, b| (&a.plugin, a.hook, a.reason).cmp(&(&b.plugin, b.hook, b.reason)));
        counts
    }

    /// Fuel used per call, per plugin and hook (p50, p99, max), sorted.
    pub fn fuel_stats(&self) -> Vec<FuelStats> {
        let counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut stats = Vec::new();
        for (plugin, counter) in counters.iter() {
            counter.fuel_stats(plugin, &mut stats);
        }
        stats.sort_by(|a, b| (&a.plugin, a.hook).cmp(&(&b.plugin, b.hook)));
        stats
    }

    /// What `touchstone plugin check` shows, without registering anything: the same checks
    /// and trial instance as [`load`](Self::load), so it refuses exactly what an upload would.
    pub fn inspect(&self, bytes: &[u8]) -> PluginReport {
        let limits = self.inner.config.default_limits;
        let (mut report, module) = validate::describe(&self.inner.engine, bytes, &limits);
        if module.is_none() {
            return report;
        }
        match self.prepare("check", bytes, limits, Arc::default()) {
            Ok(plugin) => {
                report.hooks = plugin.hooks().to_vec();
                report.abi_version = Some(format!(
                    "{}.{}",
                    touchstone_plugin_sdk::abi::ABI_VERSION,
                    plugin.abi_minor_version()
                ));
            }
            Err(error) => report.refused = Some(crate::error::error_chain(&error)),
        }
        report
    }

    /// Loads `bytes` like [`load`](Self::load) but keeps it out of the registry: for
    /// `touchstone plugin run`.
    pub fn load_unregistered(&self, name: &str, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let counters = Arc::clone(
            self.inner
                .counters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(name.to_owned())
                .or_default(),
        );
        self.prepare(name, bytes, self.inner.config.default_limits, counters)
    }
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plugins = self.inner.plugins.load();
        f.debug_struct("PluginHost")
            .field("config", &self.inner.config)
            .field("plugins", &plugins.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn check_limits(config: &HostConfig, limits: &Limits) -> Result<(), PluginError> {
    if limits.memory_bytes > config.max_memory_bytes {
        return Err(PluginError::BadLimits(format!(
            "memory_bytes {} is above the host's max_memory_bytes {}",
            limits.memory_bytes, config.max_memory_bytes
        )));
    }
    if limits.epoch_ticks == 0 || limits.input_bytes > u32::MAX as usize / 2 {
        return Err(PluginError::BadLimits(
            "epoch_ticks must be at least 1 and input_bytes below 2 GiB".into(),
        ));
    }
    Ok(())
}
