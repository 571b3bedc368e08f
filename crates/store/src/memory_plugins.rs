//! The memory store's plugins: the same model as Redis (modules by SHA-256, names, bindings,
//! imported digests under the definitions version), kept in one struct behind the store's
//! definitions lock so a version always matches what it counts.

use crate::{MAX_MODULE_BYTES, PluginChange, PluginSet, ServerPlugins, StoreError, sha256_hex};
use std::collections::{BTreeMap, HashMap};
use touchstone_model::Timestamp;

#[derive(Debug, Default)]
pub(crate) struct MemoryPlugins {
    set: PluginSet,
    modules: HashMap<String, Vec<u8>>,
    servers: BTreeMap<String, ServerPlugins>,
}

impl MemoryPlugins {
    /// Checks the whole batch first, so a refused change writes nothing.
    pub fn apply(&mut self, changes: &[PluginChange]) -> Result<(), StoreError> {
        if let Some(name) = changes.iter().find_map(|change| match change {
            PluginChange::Upload { name, module, .. } if module.len() > MAX_MODULE_BYTES => {
                Some(name)
            }
            _ => None,
        }) {
            return Err(too_large(name));
        }
        for change in changes {
            match change {
                PluginChange::Upload {
                    name,
                    module,
                    from_file,
                } => {
                    let sha = sha256_hex(module);
                    self.modules.insert(sha.clone(), module.clone());
                    self.set.plugins.insert(name.clone(), sha);
                    if let Some(digest) = from_file {
                        self.set
                            .imported
                            .insert(crate::plugins::imported_plugin_key(name), digest.clone());
                    }
                }
                PluginChange::Remove { name } => {
                    self.set.plugins.remove(name);
                }
                PluginChange::Bind {
                    touchpoint,
                    binding,
                    from_file,
                } => {
                    self.set
                        .bindings
                        .insert(touchpoint.clone(), binding.clone());
                    if let Some(digest) = from_file {
                        self.set.imported.insert(
                            crate::plugins::imported_binding_key(touchpoint),
                            digest.clone(),
                        );
                    }
                }
                PluginChange::Unbind { touchpoint } => {
                    self.set.bindings.remove(touchpoint);
                }
            }
        }
        let live: Vec<&String> = self.set.plugins.values().collect();
        self.modules.retain(|sha, _| live.contains(&sha));
        Ok(())
    }

    pub fn set(&self, version: u64) -> PluginSet {
        PluginSet {
            version,
            ..self.set.clone()
        }
    }

    pub fn module(&self, sha256: &str) -> Option<Vec<u8>> {
        self.modules.get(sha256).cloned()
    }

    pub fn report(&mut self, report: &ServerPlugins) {
        self.servers.insert(report.server.clone(), report.clone());
    }

    pub fn servers(&mut self, now: Timestamp) -> Vec<ServerPlugins> {
        self.servers.retain(|_, report| report.expires_at > now);
        self.servers.values().cloned().collect()
    }
}

pub(crate) fn too_large(name: &str) -> StoreError {
    StoreError::Config(format!(
        "plugin `{name}`: a module may have at most {MAX_MODULE_BYTES} bytes"
    ))
}
