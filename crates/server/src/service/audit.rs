//! The audit log of admin actions: who (the short id of their API key, never the key), when,
//! and what changed. Every admin use case takes an [`Acting`] and records through here.

use crate::error::ServiceError;
use crate::observe;
use crate::state::AppState;
use serde_json::{Map, Value, json};
use touchstone_model::Timestamp;
use touchstone_store::AuditEntry;

/// Who acts and when (the request's receive time).
#[derive(Debug, Clone)]
pub struct Acting {
    /// `access::Caller::key_id`, or `open` when the server runs without API keys.
    pub key_id: String,
    pub at: Timestamp,
}

/// Appends one entry. The action has already happened, so a store failure here cannot undo
/// it: it is logged as an error (an operator must look) and counted, never hidden.
pub async fn record(
    state: &AppState,
    acting: &Acting,
    action: &str,
    experiment: Option<&str>,
    changes: Value,
) {
    let entry = AuditEntry {
        at: acting.at,
        key_id: acting.key_id.clone(),
        action: action.to_owned(),
        experiment: experiment.map(str::to_owned),
        changes,
    };
    if let Err(error) = state.store.append_audit(&entry).await {
        observe::store_failure("append_audit", &error);
        tracing::error!(error = %error, action, experiment, key_id = %acting.key_id, "an admin action could not be written to the audit log");
    }
}

/// An experiment's entries, or the global ones (plugins, bindings), newest first.
pub async fn list(
    state: &AppState,
    experiment: Option<&str>,
    limit: usize,
) -> Result<Vec<AuditEntry>, ServiceError> {
    Ok(state.store.load_audit(experiment, limit).await?)
}

/// `{"from": old, "to": new}` for each top-level field that differs between two JSON objects
/// (a missing field is `null`), so a replaced definition's entry says exactly what moved.
pub fn changed_fields(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let changes: Map<String, Value> = names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (
                before.get(name).unwrap_or(&Value::Null),
                after.get(name).unwrap_or(&Value::Null),
            );
            (old != new).then(|| (name.clone(), json!({"from": old, "to": new})))
        })
        .collect();
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::changed_fields;
    use serde_json::json;

    #[test]
    fn only_fields_that_differ_are_listed_with_both_values() {
        let before = json!({"traffic": 0.5, "journey": ["purchase"], "salt": "s"});
        let after = json!({"traffic": 0.8, "journey": ["purchase"], "layer": {"name": "c"}});
        assert_eq!(
            changed_fields(&before, &after),
            json!({
                "layer": {"from": null, "to": {"name": "c"}},
                "salt": {"from": "s", "to": null},
                "traffic": {"from": 0.5, "to": 0.8}
            })
        );
        assert_eq!(changed_fields(&before, &before), json!({}));
    }
}
