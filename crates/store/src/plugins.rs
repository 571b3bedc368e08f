//! Plugins in the store (decision 019): module bytes content-addressed by their SHA-256, the
//! name → module map, the touchpoint bindings and the digests of what was last imported from
//! files — all under the definitions version, so one refresh sees them together — and the
//! servers' heartbeats saying which plugin versions each one runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use touchstone_model::Timestamp;

/// The largest module the store keeps (a plugin is small; `plugins.module_bytes` is the same
/// bound on the server).
pub const MAX_MODULE_BYTES: usize = 512 * 1024;

/// A touchpoint's plugin and that plugin's configuration there, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBinding {
    pub plugin: String,
    #[serde(default)]
    pub config: Value,
}

/// Every plugin and binding, read together at one definitions version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginSet {
    /// The definitions version this set was read at (the counter experiments share).
    pub version: u64,
    /// Plugin name → SHA-256 (lower-case hex) of its module.
    pub plugins: BTreeMap<String, String>,
    /// Touchpoint → its binding.
    pub bindings: BTreeMap<String, StoredBinding>,
    /// `plugin:NAME` / `binding:TOUCHPOINT` → digest of the file content last imported from
    /// `plugins.dir` / `plugins.bindings_dir`: a file is saved again only when it changes.
    pub imported: BTreeMap<String, String>,
}

/// One change of a [`crate::Store::save_plugins_if`] batch; the batch applies whole or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginChange {
    /// Makes `module` (at most [`MAX_MODULE_BYTES`]) the plugin `name`.
    Upload {
        name: String,
        module: Vec<u8>,
        /// The digest of the file it came from (`plugin:NAME` in [`PluginSet::imported`]).
        from_file: Option<String>,
    },
    /// Forgets the plugin `name` (its module too, once no name refers to it).
    Remove {
        name: String,
    },
    Bind {
        touchpoint: String,
        binding: StoredBinding,
        /// The digest of the file it came from (`binding:TOUCHPOINT`).
        from_file: Option<String>,
    },
    Unbind {
        touchpoint: String,
    },
}

/// What one server runs, as its last heartbeat said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerPlugins {
    /// `host:port` of the server.
    pub server: String,
    pub seen_at: Timestamp,
    /// After this the server counts as gone (it stopped heart-beating).
    pub expires_at: Timestamp,
    /// The definitions version of the plugin set it runs.
    pub version: u64,
    /// Plugin name → the version (short digest) it runs.
    pub plugins: BTreeMap<String, String>,
}

/// Lower-case hex SHA-256: the address of a module.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The key of a plugin's imported-file digest in [`PluginSet::imported`].
pub fn imported_plugin_key(name: &str) -> String {
    format!("plugin:{name}")
}

/// The key of a binding's imported-file digest in [`PluginSet::imported`].
pub fn imported_binding_key(touchpoint: &str) -> String {
    format!("binding:{touchpoint}")
}
