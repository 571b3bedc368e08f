//! Hooks for the criterion benchmark only (not part of the API): the cost floor of a call.

use crate::error::PluginError;
use crate::plugin::LoadedPlugin;
use touchstone_plugin_sdk::abi::Hook;

/// Instantiates `plugin` from the pool exactly as a real call does and calls `hook` with an
/// empty input, skipping JSON: the floor a real call is measured against.
pub fn instantiate_and_call_empty(plugin: &LoadedPlugin, hook: Hook) -> Result<u64, PluginError> {
    plugin.instantiate_and_call_empty(hook)
}

/// The time of `calls` round trips of `hook` with `input` through one live instance (no
/// instantiation per call): the JSON part of a call's cost, apart from the fresh instance.
pub fn live_instance_calls<I: serde::Serialize>(
    plugin: &LoadedPlugin,
    hook: Hook,
    input: &I,
    calls: usize,
) -> Result<std::time::Duration, PluginError> {
    plugin.live_instance_calls(hook, input, calls)
}
