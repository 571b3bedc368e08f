//! Integration tests of the plugin host with real `.wasm` built from `plugins/` by
//! `scripts/build-plugins.sh`: the example plugins' hooks, every hostile plugin contained,
//! load-time refusals, hot swap and the directory watcher; the C and WAT examples through the
//! same conformance checks as the Rust ones, and the rules ABI.md decides.

mod abi_rules;
mod cache;
mod conformance;
mod examples;
mod fresh_state;
mod hostile;
mod loading;
mod swap;

use std::sync::Arc;
use touchstone_plugin_host::{HostConfig, Limits, LoadedPlugin, PluginHost};

/// A host whose default deadline is 200 ms instead of 3 ms. The deadline is wall-clock time,
/// and these tests run in parallel on a small, shared machine where a good call can be
/// descheduled for milliseconds; the tests of the deadline itself set the real default.
pub fn host() -> PluginHost {
    PluginHost::new(HostConfig {
        default_limits: Limits {
            epoch_ticks: 200,
            ..Limits::default()
        },
        ..HostConfig::default()
    })
    .expect("the plugin host starts")
}

pub fn load(host: &PluginHost, name: &str) -> Arc<LoadedPlugin> {
    host.load(name, &touchstone_testkit::plugins::plugin_bytes(name))
        .unwrap_or_else(|error| panic!("{name} loads: {error}"))
}
