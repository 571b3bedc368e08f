//! The audit log: every admin action (define, start, stop, ship, plugin upload or binding),
//! who did it — by the short id of their API key, never the key — when, and what changed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use touchstone_model::Timestamp;

/// One admin action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// The first 8 hex digits of the SHA-256 of the caller's API key; `open` when the server
    /// runs without keys (development).
    pub key_id: String,
    /// `define`, `start`, `stop`, `ship`, `plugin_upload`, `plugin_bind`, …
    pub action: String,
    /// The experiment acted on; `None` for actions on plugins and bindings (the global log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// What changed, e.g. `{"status": {"from": "draft", "to": "running"}}`.
    pub changes: Value,
}

/// Most entries one read returns.
pub const MAX_AUDIT_READ: usize = 1_000;
