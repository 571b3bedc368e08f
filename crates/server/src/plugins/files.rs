//! Plugins and bindings from files, for GitOps: `plugins.dir` (`NAME.wasm`) and
//! `plugins.bindings_dir` (`*.toml`: touchpoint, plugin, optional `[config]`) are read at start
//! and whenever a file changes, and a file is saved to the store when its content is new — not
//! the content last imported from it (the store keeps that digest). So the last change wins,
//! whichever way it came: an API upload stays until the file changes again, a restart with the
//! same files reverts nothing, and an empty or read-only directory removes nothing.

use super::Plugins;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use touchstone_store::plugins::{imported_binding_key, imported_plugin_key};
use touchstone_store::{PluginChange, PluginSet, Store, StoreError, StoredBinding, sha256_hex};

/// A binding file in `plugins.bindings_dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingFile {
    touchpoint: String,
    plugin: String,
    #[serde(default)]
    config: Option<toml::Value>,
}

/// What a changed file holds, read and checked once.
#[derive(Debug, Clone)]
enum FileContent {
    Module {
        name: String,
        module: Vec<u8>,
    },
    Binding {
        touchpoint: String,
        binding: StoredBinding,
    },
}

#[derive(Debug, Clone)]
struct ChangedFile {
    path: PathBuf,
    stamp: Stamp,
    digest: String,
    content: FileContent,
}

type Stamp = (Option<SystemTime>, u64);

/// The two directories and what this server last saw of each file.
#[derive(Debug)]
pub struct FileImport {
    plugins_dir: PathBuf,
    bindings_dir: PathBuf,
    seen: HashMap<PathBuf, Stamp>,
}

/// Most rounds a sync retries when other servers save at the same moment.
const MAX_ROUNDS: usize = 20;

impl FileImport {
    pub fn new(plugins_dir: &Path, bindings_dir: &Path) -> FileImport {
        FileImport {
            plugins_dir: plugins_dir.to_owned(),
            bindings_dir: bindings_dir.to_owned(),
            seen: HashMap::new(),
        }
    }

    /// Saves every new or changed file whose content the store has not imported yet, in one
    /// compare-and-set. Returns whether it saved anything. On a store failure nothing is marked
    /// seen, so the next call tries again.
    pub async fn sync(&mut self, plugins: &Plugins, store: &dyn Store) -> Result<bool, StoreError> {
        let changed = self.changed_files();
        if changed.is_empty() {
            return Ok(false);
        }
        let mut refused: HashMap<String, String> = HashMap::new();
        let mut saved = false;
        for _ in 0..MAX_ROUNDS {
            let set = store.load_plugins().await?;
            let mut changes = Vec::new();
            for file in &changed {
                if refused.contains_key(&file.digest) || !is_new(&set, file) {
                    continue;
                }
                match &file.content {
                    FileContent::Module { name, module } => {
                        if let Err(reason) = plugins.check(name, module.clone()).await {
                            tracing::warn!(file = %file.path.display(), %reason, "plugin file refused; the stored version stays");
                            refused.insert(file.digest.clone(), reason);
                            continue;
                        }
                        changes.push(PluginChange::Upload {
                            name: name.clone(),
                            module: module.clone(),
                            from_file: Some(file.digest.clone()),
                        });
                    }
                    FileContent::Binding {
                        touchpoint,
                        binding,
                    } => {
                        let uploaded = changes.iter().any(|change| {
                            matches!(change, PluginChange::Upload { name, .. } if *name == binding.plugin)
                        });
                        if !uploaded && !set.plugins.contains_key(&binding.plugin) {
                            tracing::warn!(file = %file.path.display(), plugin = %binding.plugin, "binding file names a plugin the store does not have; skipped until the file changes");
                            continue;
                        }
                        changes.push(PluginChange::Bind {
                            touchpoint: touchpoint.clone(),
                            binding: binding.clone(),
                            from_file: Some(file.digest.clone()),
                        });
                    }
                }
            }
            if changes.is_empty() {
                break;
            }
            if store
                .save_plugins_if(&changes, set.version)
                .await?
                .is_some()
            {
                tracing::info!(
                    changes = changes.len(),
                    version = set.version + 1,
                    "new plugin file content saved to the store"
                );
                saved = true;
                break;
            }
        }
        for file in changed {
            self.seen.insert(file.path, file.stamp);
        }
        Ok(saved)
    }

    /// Files that are new or changed since the last sync, modules first (a binding file may
    /// name a plugin whose file arrives with it). A file that cannot be read or parsed is
    /// logged and marked seen: it is tried again when it changes.
    fn changed_files(&mut self) -> Vec<ChangedFile> {
        let mut changed = Vec::new();
        for (dir, extension) in [(&self.plugins_dir, "wasm"), (&self.bindings_dir, "toml")] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == extension))
                .collect();
            paths.sort();
            for path in paths {
                let Ok(metadata) = std::fs::metadata(&path) else {
                    continue;
                };
                let stamp = (metadata.modified().ok(), metadata.len());
                if self.seen.get(&path) == Some(&stamp) {
                    continue;
                }
                match read(&path) {
                    Ok((digest, content)) => changed.push(ChangedFile {
                        path,
                        stamp,
                        digest,
                        content,
                    }),
                    Err(reason) => {
                        tracing::warn!(file = %path.display(), %reason, "plugin file skipped until it changes");
                        self.seen.insert(path, stamp);
                    }
                }
            }
        }
        changed
    }
}

/// Whether the store has not imported this content from this file's name yet.
fn is_new(set: &PluginSet, file: &ChangedFile) -> bool {
    let key = match &file.content {
        FileContent::Module { name, .. } => imported_plugin_key(name),
        FileContent::Binding { touchpoint, .. } => imported_binding_key(touchpoint),
    };
    set.imported.get(&key) != Some(&file.digest)
}

fn read(path: &Path) -> Result<(String, FileContent), String> {
    if path.extension().is_some_and(|ext| ext == "wasm") {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .ok_or("the file name is not UTF-8")?
            .to_owned();
        if let Some(problem) = touchstone_model::validation::check_key(&name) {
            return Err(format!("`{name}` is not a plugin name: {problem}"));
        }
        let module = std::fs::read(path).map_err(|error| error.to_string())?;
        return Ok((sha256_hex(&module), FileContent::Module { name, module }));
    }
    let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
    let parsed: BindingFile = toml::from_str(&text).map_err(|error| error.to_string())?;
    let config = match parsed.config {
        Some(config) => serde_json::to_value(config).map_err(|error| error.to_string())?,
        None => serde_json::Value::Null,
    };
    let binding = StoredBinding {
        plugin: parsed.plugin,
        config,
    };
    let canonical = serde_json::to_string(&binding).map_err(|error| error.to_string())?;
    Ok((
        sha256_hex(canonical.as_bytes()),
        FileContent::Binding {
            touchpoint: parsed.touchpoint,
            binding,
        },
    ))
}
