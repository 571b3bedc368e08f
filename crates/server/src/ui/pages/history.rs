//! An experiment's history: its audit log (define, start, stop, ship, phase, guardrail
//! actions), newest first, each with when, by whom (key id) and what changed.

use crate::ui::layout::escape;
use serde_json::Value;
use std::fmt::Write;
use touchstone_store::AuditEntry;

/// Longest rendering of one changed value; a whole definition would drown the table.
const MAX_VALUE_CHARS: usize = 80;

/// The history card; `None` when the audit log could not be read (the page still renders).
pub fn history(entries: Option<&[AuditEntry]>) -> String {
    let mut out = String::from(r#"<section class="card" id="history"><h2>History</h2>"#);
    match entries {
        None => out.push_str(
            r#"<p class="problem">The audit log could not be read just now; reload to try again.</p>"#,
        ),
        Some([]) => out.push_str(r#"<p class="hint">No admin action recorded yet.</p>"#),
        Some(entries) => {
            out.push_str(
                r#"<div class="table-wrap"><table class="numbers"><caption>Admin actions, newest first</caption><thead><tr><th scope="col">When (UTC)</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">What changed</th></tr></thead><tbody>"#,
            );
            for entry in entries {
                let _ = write!(
                    out,
                    "<tr><td>{at}</td><td>{action}</td><td><code>{by}</code></td><td>{changes}</td></tr>",
                    at = escape(&entry.at.to_rfc3339()),
                    action = escape(&entry.action),
                    by = escape(&entry.key_id),
                    changes = changes(&entry.changes),
                );
            }
            out.push_str("</tbody></table></div>");
        }
    }
    out.push_str("</section>");
    out
}

/// `field: from → to` per changed field (or `field: value` for facts such as a reason).
fn changes(changes: &Value) -> String {
    let Some(fields) = changes.as_object() else {
        return escape(&short(changes));
    };
    if fields.is_empty() {
        return "—".to_owned();
    }
    let items: Vec<String> = fields
        .iter()
        .map(|(name, change)| {
            let text = match (change.get("from"), change.get("to")) {
                (Some(from), Some(to)) if change.as_object().is_some_and(|o| o.len() == 2) => {
                    format!("{} → {}", short(from), short(to))
                }
                _ => short(change),
            };
            format!("<strong>{}</strong>: {}", escape(name), escape(&text))
        })
        .collect();
    items.join("<br>")
}

/// Compact JSON (strings without quotes), cut at [`MAX_VALUE_CHARS`].
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::Timestamp;

    fn entry(action: &str, key_id: &str, changes: Value) -> AuditEntry {
        AuditEntry {
            at: Timestamp::from_millis(1_795_000_000_000),
            key_id: key_id.to_owned(),
            action: action.to_owned(),
            experiment: Some("checkout".to_owned()),
            changes,
        }
    }

    #[test]
    fn each_action_shows_when_who_and_each_change_escaped() {
        let entries = [
            entry(
                "stop",
                "guardrail",
                json!({"status": {"from": "running", "to": "stopped"},
                       "reason": {"metric": "checkout_error", "variant": "<b>v1</b>"}}),
            ),
            entry(
                "start",
                "1a2b3c4d",
                json!({"status": {"from": "draft", "to": "running"}}),
            ),
        ];
        let html = history(Some(&entries));
        let stop = html.find("<td>stop</td>").expect("the stop row");
        assert!(
            stop < html.find("<td>start</td>").expect("the start row"),
            "order kept"
        );
        assert!(html.contains("<code>guardrail</code>") && html.contains("<code>1a2b3c4d</code>"));
        assert!(html.contains("<strong>status</strong>: running → stopped"));
        assert!(html.contains("&lt;b&gt;v1&lt;/b&gt;") && !html.contains("<b>v1</b>"));
        assert!(html.contains(&escape(
            &Timestamp::from_millis(1_795_000_000_000).to_rfc3339()
        )));
    }

    #[test]
    fn a_long_value_is_cut_and_an_empty_or_unreadable_log_says_so() {
        let long = "x".repeat(200);
        let html = history(Some(&[entry(
            "define",
            "open",
            json!({"description": {"from": null, "to": long}}),
        )]));
        assert!(html.contains(&format!("null → {}…", "x".repeat(MAX_VALUE_CHARS))));
        assert!(history(Some(&[])).contains("No admin action recorded yet."));
        assert!(history(None).contains("could not be read"));
    }
}
