//! The Touchstone plugin SDK: the plugin ABI, defined once (types and export names shared by
//! guest and host), and the [`export_plugin!`] macro that turns ordinary Rust functions into
//! the exports a WebAssembly plugin needs. `ABI.md` is the specification.
//!
//! A plugin is a `cdylib` built for `wasm32-unknown-unknown`:
//!
//! ```text
//! use touchstone_plugin_sdk::{export_plugin, EligibleView, Eligibility};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct Config { min_cart: f64 }
//!
//! fn eligible(ctx: EligibleView<Config>) -> Eligibility {
//!     let cart = ctx.attributes.get("cart_value").and_then(|v| v.as_f64()).unwrap_or(0.0);
//!     ctx.all(cart >= ctx.config.min_cart)
//! }
//!
//! export_plugin! { eligible: eligible }
//! ```
//!
//! The views ([`EligibleView`], [`PayloadView`]) read the input in place with the SDK's own
//! JSON reader ([`json`]); the owned contexts ([`EligibleContext`], [`PayloadContext`],
//! [`EventContext`]) are decoded with serde_json and take more fuel.

pub mod abi;
#[cfg(all(target_arch = "wasm32", feature = "bump-allocator"))]
pub mod allocator;
mod ascii;
#[doc(hidden)]
pub mod guest;
pub mod json;
pub mod log;
mod reader;
pub mod view;

pub use abi::{
    Assignment, ContextMap, Eligibility, EligibleContext, Event, EventContext, EventDecision, Hook,
    HookOutput, PayloadContext, Payloads,
};
pub use json::{Json, JsonError, JsonStr, Object};
pub use serde_json::{Map, Value, json};
pub use view::{AssignmentView, Attributes, EligibleView, PayloadView};

/// Exports the given functions as the plugin's hooks (any subset of `eligible`, `payload`,
/// `event`), together with the allocation export the host writes the input through.
///
/// Each function takes the hook's context by value — a view ([`EligibleView`],
/// [`PayloadView`]; its config type `Clone`) or an owned context — generic over the plugin's
/// own config type (any `serde::Deserialize` type, or [`Value`]), and returns the hook's answer or a
/// `Result<answer, E: Display>`; an `Err` reaches the host as a plugin error, which then applies
/// the safe default.
///
/// ```text
/// export_plugin! {
///     eligible: my_eligible,                                  // fn(EligibleView<C>) -> Eligibility
///     payload: my_payload,                                    // fn(PayloadView<C>) -> Payloads
///     event: my_event,                                        // fn(EventContext<C>) -> Vec<EventDecision>
/// }
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($($hook:ident : $function:path),+ $(,)?) => {
        /// ABI: reserves `len` bytes of guest memory for the host to write a hook's input into.
        #[unsafe(export_name = "touchstone_alloc")]
        pub extern "C" fn __touchstone_alloc(len: u32) -> u32 {
            $crate::guest::alloc(len)
        }
        /// ABI: the version this plugin was built for (`major * 100 + minor`). The SDK's guest
        /// code does not assume a fresh instance per call, so it declares 1.1.
        #[unsafe(export_name = "touchstone_abi_version")]
        pub extern "C" fn __touchstone_abi_version() -> u32 {
            $crate::abi::declared_version($crate::abi::ABI_VERSION, $crate::abi::ABI_MINOR_VERSION)
        }
        $( $crate::__export_hook!($hook, $function); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_hook {
    (eligible, $function:path) => {
        /// ABI hook `eligible`: (input ptr, input len) -> packed (output ptr << 32 | output len).
        #[unsafe(export_name = "eligible")]
        pub extern "C" fn __touchstone_hook_eligible(ptr: u32, len: u32) -> u64 {
            $crate::guest::run(ptr, len, $function)
        }
    };
    (payload, $function:path) => {
        /// ABI hook `payload`: (input ptr, input len) -> packed (output ptr << 32 | output len).
        #[unsafe(export_name = "payload")]
        pub extern "C" fn __touchstone_hook_payload(ptr: u32, len: u32) -> u64 {
            $crate::guest::run(ptr, len, $function)
        }
    };
    (event, $function:path) => {
        /// ABI hook `event`: (input ptr, input len) -> packed (output ptr << 32 | output len).
        #[unsafe(export_name = "event")]
        pub extern "C" fn __touchstone_hook_event(ptr: u32, len: u32) -> u64 {
            $crate::guest::run(ptr, len, $function)
        }
    };
    ($other:ident, $function:path) => {
        compile_error!(concat!(
            "unknown Touchstone hook `",
            stringify!($other),
            "`; the hooks are eligible, payload and event"
        ));
    };
}
