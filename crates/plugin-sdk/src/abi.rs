//! The plugin ABI's names and JSON shapes, shared by the SDK (guest side) and
//! `touchstone-plugin-host`, so the two cannot drift apart. `ABI.md` describes the same
//! contract for authors who do not write Rust.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Major version of this ABI. A change that breaks existing plugins gets a new number.
pub const ABI_VERSION: u32 = 1;
/// Minor version: adds only what a module built for an earlier minor version never notices
/// (see ABI.md, "Versions"). 1.1 lets the host run one request's `eligible` and `payload`
/// calls in the same instance.
pub const ABI_MINOR_VERSION: u32 = 1;
/// What a module's `touchstone_abi_version` export returns for the version it was built for:
/// `major * 100 + minor` (101 is 1.1). A module without the export was built for 1.0.
pub const fn declared_version(major: u32, minor: u32) -> u32 {
    major * 100 + minor
}

/// `() -> i32`, optional: the ABI version the module was built for, `major * 100 + minor`.
pub const EXPORT_ABI_VERSION: &str = "touchstone_abi_version";

/// The linear memory every plugin must export.
pub const EXPORT_MEMORY: &str = "memory";
/// `(len: i32) -> i32`: reserves `len` bytes for the host to write a hook's input into.
pub const EXPORT_ALLOC: &str = "touchstone_alloc";
/// Module of the only import a plugin may have.
pub const IMPORT_MODULE: &str = "touchstone";
/// `touchstone.log(level: i32, ptr: i32, len: i32)`: an optional UTF-8 log line.
pub const IMPORT_LOG: &str = "log";

/// Log levels of `touchstone.log`.
pub const LOG_ERROR: u32 = 1;
pub const LOG_WARN: u32 = 2;
pub const LOG_INFO: u32 = 3;
pub const LOG_DEBUG: u32 = 4;

/// Attributes and other free-form JSON objects.
pub type ContextMap = Map<String, Value>;

/// The three hooks a plugin may export (any non-empty subset). Each hook export has the
/// signature `(ptr: i32, len: i32) -> i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// Decides, for every experiment at a touchpoint at once, whether the unit may take part.
    Eligible,
    /// Shapes the assigned variants' payloads, for every experiment at a touchpoint at once.
    Payload,
    /// Accepts, rejects or rewrites a batch of outcome events before they are counted.
    Event,
}

impl Hook {
    pub const ALL: [Hook; 3] = [Hook::Eligible, Hook::Payload, Hook::Event];

    /// The export name, which is also the label used in logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Hook::Eligible => "eligible",
            Hook::Payload => "payload",
            Hook::Event => "event",
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Input of `eligible`: one unit at one touchpoint, and every running experiment there that
/// the plugin must decide for. `C` is the plugin's `config`, bound with the touchpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibleContext<C = Value> {
    pub unit_id: String,
    pub touchpoint: String,
    /// Keys of the experiments to decide for.
    pub experiments: Vec<String>,
    /// What the client sent with the assignment request (country, device, cart value...).
    #[serde(default)]
    pub attributes: ContextMap,
    pub config: C,
}

impl<C> EligibleContext<C> {
    /// The same answer for every experiment at the touchpoint: the common case.
    pub fn all(&self, eligible: bool) -> Eligibility {
        self.experiments
            .iter()
            .map(|key| (key.clone(), eligible))
            .collect()
    }
}

/// Output of `eligible`: experiment key → eligible. An experiment left out is not eligible;
/// a key that was not asked for makes the whole answer malformed.
pub type Eligibility = BTreeMap<String, bool>;

/// One experiment's assignment, as `payload` sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub experiment: String,
    pub variant: String,
    /// The variant's static payload from its definition (`null` when it has none).
    #[serde(default)]
    pub payload: Value,
}

/// Input of `payload`: one unit at one touchpoint and its assignment in every experiment there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadContext<C = Value> {
    pub unit_id: String,
    pub touchpoint: String,
    pub assignments: Vec<Assignment>,
    #[serde(default)]
    pub attributes: ContextMap,
    pub config: C,
}

/// Output of `payload`: experiment key → payload to render. An experiment left out keeps its
/// variant's static payload; a key that was not asked for makes the whole answer malformed.
pub type Payloads = BTreeMap<String, Value>;

/// An outcome event as a plugin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub unit_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Whatever else the client sent with the event (currency, user agent...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: ContextMap,
}

/// Input of `event`: a batch of events and the plugin's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventContext<C = Value> {
    pub events: Vec<Event>,
    pub config: C,
}

/// What `event` decides for one event. The answer is a list with exactly one decision per
/// input event, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum EventDecision {
    /// Count the event as it is.
    Accept,
    /// Do not count the event.
    Reject { reason: String },
    /// Count this event instead. It must keep the original `id` and `unit_id`.
    Rewrite { event: Event },
}

/// The envelope every hook writes back: `{"ok": answer}` or `{"error": "message"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookOutput<T> {
    Ok(T),
    Error(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_decisions_have_the_documented_json_shape() {
        let decisions = vec![
            EventDecision::Accept,
            EventDecision::Reject {
                reason: "bot".into(),
            },
        ];
        assert_eq!(
            serde_json::to_value(&decisions).expect("serialize"),
            json!([{"decision": "accept"}, {"decision": "reject", "reason": "bot"}])
        );
    }

    #[test]
    fn hook_output_is_an_ok_or_error_envelope() {
        let ok: HookOutput<Eligibility> = HookOutput::Ok(Eligibility::from([("a".into(), true)]));
        assert_eq!(
            serde_json::to_string(&ok).expect("serialize"),
            r#"{"ok":{"a":true}}"#
        );
        let error: HookOutput<Eligibility> =
            serde_json::from_str(r#"{"error":"bad config"}"#).expect("parse");
        assert_eq!(error, HookOutput::Error("bad config".into()));
    }

    #[test]
    fn all_answers_for_every_experiment_asked() {
        let ctx = EligibleContext {
            unit_id: "u".into(),
            touchpoint: "checkout.shipping".into(),
            experiments: vec!["a".into(), "b".into()],
            attributes: ContextMap::new(),
            config: Value::Null,
        };
        assert_eq!(
            ctx.all(true),
            Eligibility::from([("a".into(), true), ("b".into(), true)])
        );
    }
}
