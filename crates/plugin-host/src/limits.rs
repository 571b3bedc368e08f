//! Per-plugin limits and host-wide settings, with the defaults the issue starts from
//! (Shopify Functions caps at 11M instructions, 128 KB input, 20 KB output).

use std::time::Duration;

/// What one call of one plugin may use. Configurable per plugin; a limit above the host's
/// ceiling ([`HostConfig::max_memory_bytes`]) is refused at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel per call (about one unit per wasm instruction). Ignored when the host runs
    /// without fuel ([`HostConfig::consume_fuel`]).
    pub fuel: u64,
    /// Wall-clock deadline per call, in epoch ticks of [`HostConfig::epoch_tick`].
    pub epoch_ticks: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest input JSON, in bytes.
    pub input_bytes: usize,
    /// Largest output JSON, in bytes.
    pub output_bytes: usize,
    /// Largest module, in bytes.
    pub module_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 1_000_000,
            // A deadline of n ticks fires between n-1 and n tick periods after the call starts.
            epoch_ticks: 3,
            memory_bytes: 16 << 20,
            input_bytes: 64 << 10,
            output_bytes: 16 << 10,
            module_bytes: 512 << 10,
        }
    }
}

/// Settings of the one engine and its instance pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Limits of plugins loaded without their own.
    pub default_limits: Limits,
    /// Meter instructions with fuel (deterministic CPU bound). The epoch deadline is always on.
    pub consume_fuel: bool,
    /// Period of the epoch ticker thread.
    pub epoch_tick: Duration,
    /// Instances alive at once across all plugins (= calls in flight); a call beyond it fails
    /// with [`PluginError::Busy`](crate::PluginError::Busy).
    pub max_instances: u32,
    /// Ceiling of any plugin's `memory_bytes`; sizes the pool's memory slots.
    pub max_memory_bytes: usize,
    /// Where compiled modules are kept across restarts (`None`: compile on every start). Must
    /// be writable only by the server's user: artifacts are native code (see `cache.rs`).
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            default_limits: Limits::default(),
            consume_fuel: true,
            epoch_tick: Duration::from_millis(1),
            max_instances: 128,
            max_memory_bytes: 16 << 20,
            cache_dir: None,
        }
    }
}
