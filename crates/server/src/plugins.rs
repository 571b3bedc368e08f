//! Touchpoint plugins as the server uses them (decision 019): the store holds the modules and
//! bindings; each server runs one immutable [`Running`] set — modules compiled, bindings beside
//! them — swapped whole when the definitions version moves, so a request sees a binding's
//! config and its module from one instant. Every plugin failure becomes the documented safe
//! default in the callers: not eligible, the variant's static payload, the event accepted
//! unchanged (or rejected, by configuration).

pub mod files;
pub mod follow;

use crate::settings::PluginSettings;
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use touchstone_plugin_host::{
    EncodedConfig, HostConfig, Limits, LoadedPlugin, PluginError, PluginHost,
};
use touchstone_store::{PluginSet, Store, StoreError, StoredBinding};

/// The pseudo-touchpoint whose plugin's `event` hook sees every event batch: events belong to
/// units, not to touchpoints.
pub const EVENTS_TOUCHPOINT: &str = "_events";

/// A touchpoint's plugin and that plugin's own configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub plugin: String,
    /// Handed to the plugin's hooks as it is.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
}

impl From<StoredBinding> for Binding {
    fn from(stored: StoredBinding) -> Self {
        Binding {
            plugin: stored.plugin,
            config: stored.config,
        }
    }
}

impl From<Binding> for StoredBinding {
    fn from(binding: Binding) -> Self {
        StoredBinding {
            plugin: binding.plugin,
            config: binding.config,
        }
    }
}

/// A binding as requests use it: the binding and its config already in the input encoding,
/// made once when the running set is built, so no call re-encodes a value that cannot change
/// (decision 025).
#[derive(Debug)]
pub struct ActiveBinding {
    binding: Binding,
    config: EncodedConfig,
}

impl ActiveBinding {
    pub fn new(binding: Binding) -> ActiveBinding {
        let config = EncodedConfig::new(&binding.config);
        ActiveBinding { binding, config }
    }

    /// The config as every hook call's input carries it.
    pub fn encoded_config(&self) -> &EncodedConfig {
        &self.config
    }
}

impl std::ops::Deref for ActiveBinding {
    type Target = Binding;

    fn deref(&self) -> &Binding {
        &self.binding
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginSetupError {
    #[error("starting the plugin host")]
    Host(#[source] PluginError),
    #[error("reading plugins and bindings from the store")]
    Store(#[source] StoreError),
}

/// Why a refresh left the running set as it was (it is retried at the next tick).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("module {sha256} of plugin `{plugin}` is no longer stored (replaced meanwhile)")]
    ModuleGone { plugin: String, sha256: String },
}

/// The plugins and bindings one server runs, as read from the store at one version.
#[derive(Debug, Default)]
pub struct Running {
    /// The definitions version the set was read at (0: nothing read yet).
    pub version: u64,
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    pub bindings: BTreeMap<String, Arc<ActiveBinding>>,
}

impl Running {
    /// (plugin name, version) of every running plugin, by name.
    pub fn versions(&self) -> Vec<(String, String)> {
        self.plugins
            .iter()
            .map(|(name, plugin)| (name.clone(), plugin.version().to_owned()))
            .collect()
    }
}

/// The plugin host's configuration from the `[plugins]` settings: the server's, and the one
/// `touchstone plugin run` and `check` use, so both run plugins under the same limits.
pub fn host_config(settings: &PluginSettings) -> HostConfig {
    HostConfig {
        default_limits: Limits {
            fuel: settings.fuel,
            epoch_ticks: settings.epoch_ticks,
            memory_bytes: settings.memory_bytes,
            input_bytes: settings.input_bytes,
            output_bytes: settings.output_bytes,
            module_bytes: settings.module_bytes,
        },
        consume_fuel: settings.consume_fuel,
        max_instances: settings.max_instances,
        max_memory_bytes: settings.memory_bytes,
        cache_dir: (!settings.cache_dir.as_os_str().is_empty()).then(|| settings.cache_dir.clone()),
        ..HostConfig::default()
    }
}

pub struct Plugins {
    host: PluginHost,
    running: ArcSwap<Running>,
    /// One refresh at a time (the follower and a handler after its own write), so an older
    /// set never replaces a newer one.
    refreshing: tokio::sync::Mutex<()>,
}

impl Plugins {
    /// Starts the host with the limits from configuration; nothing runs until [`Self::refresh`].
    pub fn new(settings: &PluginSettings) -> Result<Plugins, PluginSetupError> {
        let host = PluginHost::new(host_config(settings)).map_err(PluginSetupError::Host)?;
        Ok(Plugins {
            host,
            running: ArcSwap::from_pointee(Running::default()),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// The plugin bound to a touchpoint and its binding, from one running set. Hold both for
    /// the whole request so that every hook of it runs the version its exposure records.
    pub fn for_touchpoint(
        &self,
        touchpoint: &str,
    ) -> Option<(Arc<LoadedPlugin>, Arc<ActiveBinding>)> {
        let running = self.running.load();
        let binding = running.bindings.get(touchpoint)?;
        let plugin = running.plugins.get(&binding.plugin)?;
        Some((Arc::clone(plugin), Arc::clone(binding)))
    }

    /// The set this server runs now.
    pub fn running(&self) -> Arc<Running> {
        self.running.load_full()
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Validates and compiles a module with this server's limits, off the reactor. The compiled
    /// module is kept by the host, so applying the same bytes after they are stored is cheap.
    /// On refusal, says why (the error and its causes).
    pub async fn check(&self, name: &str, module: Vec<u8>) -> Result<(), String> {
        let host = self.host.clone();
        let name = name.to_owned();
        match tokio::task::spawn_blocking(move || host.load(&name, &module)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error_chain(&error)),
            Err(_) => Err("the module check did not finish".into()),
        }
    }

    /// Reads the store's plugins and bindings and, when their version moved, compiles what this
    /// server has not and swaps the whole set in. Returns whether it swapped.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, RefreshError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let set = store.load_plugins().await?;
        let current = self.running.load_full();
        if set.version == current.version {
            return Ok(false);
        }
        let next = self.build(store, set, &current).await?;
        for name in current.plugins.keys() {
            if !next.plugins.contains_key(name) && self.host.remove(name) {
                tracing::info!(plugin = %name, "plugin removed");
            }
        }
        crate::observe::plugins_running(&current.versions(), &next.versions());
        tracing::debug!(
            version = next.version,
            plugins = next.plugins.len(),
            bindings = next.bindings.len(),
            "plugins refreshed"
        );
        self.running.store(Arc::new(next));
        Ok(true)
    }

    async fn build(
        &self,
        store: &dyn Store,
        set: PluginSet,
        current: &Running,
    ) -> Result<Running, RefreshError> {
        let mut plugins = BTreeMap::new();
        for (name, sha256) in set.plugins {
            if let Some(plugin) = current
                .plugins
                .get(&name)
                .filter(|plugin| plugin.sha256() == sha256)
            {
                plugins.insert(name, Arc::clone(plugin));
                continue;
            }
            let Some(module) = store.load_module(&sha256).await? else {
                return Err(RefreshError::ModuleGone {
                    plugin: name,
                    sha256,
                });
            };
            let host = self.host.clone();
            let loading = name.clone();
            let loaded = tokio::task::spawn_blocking(move || host.load(&loading, &module)).await;
            match loaded {
                Ok(Ok(plugin)) => {
                    plugins.insert(name, plugin);
                }
                outcome => {
                    let reason = match outcome {
                        Ok(Err(error)) => error_chain(&error),
                        _ => "the compile did not finish".to_owned(),
                    };
                    // Another server accepted it; this one cannot run it (other limits?).
                    tracing::error!(plugin = %name, %sha256, %reason, "a stored plugin cannot run on this server; keeping its previous version, if any");
                    if let Some(previous) = current.plugins.get(&name) {
                        plugins.insert(name, Arc::clone(previous));
                    }
                }
            }
        }
        let bindings = set
            .bindings
            .into_iter()
            .map(|(touchpoint, stored)| {
                let binding = Binding::from(stored);
                let kept = current
                    .bindings
                    .get(&touchpoint)
                    .filter(|existing| existing.binding == binding)
                    .cloned();
                (
                    touchpoint,
                    kept.unwrap_or_else(|| Arc::new(ActiveBinding::new(binding))),
                )
            })
            .collect();
        Ok(Running {
            version: set.version,
            plugins,
            bindings,
        })
    }
}

/// An error and its causes on one line: what a plugin author needs to fix a refused module.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
