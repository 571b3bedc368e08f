//! Runs Touchstone plugins — untrusted WebAssembly modules — with wasmtime: validates them at
//! load, compiles each once, and calls each hook in a fresh, pooled, isolated instance bounded
//! in fuel, wall time (epochs), memory, input and output. Every failure is a typed
//! [`PluginError`]; the caller applies the documented safe default. The only crate that knows
//! wasmtime. The ABI lives in `touchstone-plugin-sdk` (`ABI.md`).
//!
//! ```text
//! let host = PluginHost::new(HostConfig::default())?;
//! let plugin = host.load("checkout-free-shipping", &bytes)?;
//! let eligibility = plugin.eligible(&context).unwrap_or_default(); // not eligible on failure
//! ```

mod answer;
mod cache;
mod counters;
mod engine;
mod error;
mod host;
mod input;
mod layout;
mod limits;
mod plugin;
mod session;
mod validate;
mod watch;

#[doc(hidden)]
pub mod bench;

pub use cache::Compiled;
pub use counters::{FailureCount, FuelStats};
pub use error::{PluginError, error_chain};
pub use host::PluginHost;
pub use input::{AssignmentRef, EligibleInput, EncodedConfig, PayloadInput};
pub use layout::Layout;
pub use limits::{HostConfig, Limits};
pub use plugin::{LoadedPlugin, LogLine};
pub use session::Session;
pub use validate::PluginReport;
pub use watch::{DirWatcher, LoadOutcome};

pub use touchstone_plugin_sdk::abi::{
    Assignment, ContextMap, Eligibility, EligibleContext, Event, EventContext, EventDecision, Hook,
    PayloadContext, Payloads,
};
