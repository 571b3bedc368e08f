//! Touchpoint plugins as the server uses them: the host with its limits from configuration,
//! the plugins directory (loaded at start, watched, written by uploads) and the bindings of
//! touchpoints to plugins. Every plugin failure becomes the documented safe default here:
//! not eligible, the variant's static payload, the event accepted unchanged (or rejected, by
//! configuration).

use crate::settings::PluginSettings;
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use touchstone_plugin_host::{
    DirWatcher, HostConfig, Limits, LoadedPlugin, PluginError, PluginHost,
};

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

/// A binding file in `plugins.bindings_dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingFile {
    touchpoint: String,
    plugin: String,
    #[serde(default)]
    config: Option<toml::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum PluginSetupError {
    #[error("starting the plugin host")]
    Host(#[source] PluginError),
    #[error("reading plugin directory {dir}")]
    Directory {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("binding file {file}: {message}")]
    Binding { file: String, message: String },
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
    bindings: ArcSwap<HashMap<String, Arc<Binding>>>,
    dir: std::path::PathBuf,
    _watcher: Option<DirWatcher>,
}

impl Plugins {
    pub fn start(settings: &PluginSettings) -> Result<Plugins, PluginSetupError> {
        let host = PluginHost::new(host_config(settings)).map_err(PluginSetupError::Host)?;
        let watcher = if settings.dir.is_dir() {
            let (watcher, outcomes) = DirWatcher::start(
                host.clone(),
                settings.dir.clone(),
                Duration::from_millis(settings.watch_interval_ms),
                HashMap::new(),
            )
            .map_err(|source| PluginSetupError::Directory {
                dir: settings.dir.display().to_string(),
                source,
            })?;
            tracing::info!(dir = %settings.dir.display(), outcomes = ?outcomes, "plugins loaded");
            Some(watcher)
        } else {
            tracing::info!(dir = %settings.dir.display(), "no plugin directory; plugins come by upload only");
            None
        };
        let bindings = read_bindings(&settings.bindings_dir)?;
        Ok(Plugins {
            host,
            bindings: ArcSwap::from_pointee(bindings),
            dir: settings.dir.clone(),
            _watcher: watcher,
        })
    }

    /// The plugin bound to a touchpoint, if it is loaded.
    pub fn for_touchpoint(&self, touchpoint: &str) -> Option<(Arc<LoadedPlugin>, Arc<Binding>)> {
        let binding = self.bindings.load().get(touchpoint).cloned()?;
        let plugin = self.host.get(&binding.plugin)?;
        Some((plugin, binding))
    }

    pub fn bindings(&self) -> HashMap<String, Arc<Binding>> {
        self.bindings.load().as_ref().clone()
    }

    pub fn bind(&self, touchpoint: &str, binding: Binding) {
        self.bindings.rcu(|current| {
            let mut next = current.as_ref().clone();
            next.insert(touchpoint.to_owned(), Arc::new(binding.clone()));
            next
        });
        tracing::info!(touchpoint, plugin = %binding.plugin, "touchpoint bound");
    }

    /// Validates and loads a module, then keeps it in the plugin directory so a restart (and
    /// the watcher) finds the same version.
    pub fn upload(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, PluginError> {
        let plugin = self.host.load(name, bytes)?;
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(self.dir.join(format!("{name}.wasm")), bytes));
        if let Err(error) = written {
            tracing::warn!(plugin = name, error = %error, "uploaded plugin is live but could not be saved to the plugin directory");
        }
        Ok(plugin)
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }
}

fn read_bindings(dir: &Path) -> Result<HashMap<String, Arc<Binding>>, PluginSetupError> {
    let mut bindings = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(bindings);
    };
    for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|error| PluginSetupError::Binding {
            file: file.clone(),
            message: error.to_string(),
        })?;
        let parsed: BindingFile =
            toml::from_str(&text).map_err(|error| PluginSetupError::Binding {
                file: file.clone(),
                message: error.to_string(),
            })?;
        let config = match parsed.config {
            Some(config) => {
                serde_json::to_value(config).map_err(|error| PluginSetupError::Binding {
                    file,
                    message: error.to_string(),
                })?
            }
            None => Value::Null,
        };
        bindings.insert(
            parsed.touchpoint,
            Arc::new(Binding {
                plugin: parsed.plugin,
                config,
            }),
        );
    }
    Ok(bindings)
}
