//! The guardrail banner: when the guardrail checker stopped an experiment (or rolled it back
//! to control), who, when, which metric, the estimate and its interval, in words, before any
//! other number — and the restart that asks for a reason and starts a new phase.

use crate::ui::format::{long_timestamp, points};
use crate::ui::layout::escape;
use serde_json::Value;
use std::fmt::Write;
use touchstone_model::{Experiment, Status};
use touchstone_store::AuditEntry;

/// The audit log's key id of the guardrail checker (`guardrails::ACTOR`).
const GUARDRAIL_ACTOR: &str = crate::guardrails::ACTOR;

/// One harm the checker acted on, as its audit entry keeps it.
#[derive(Debug, Clone)]
pub struct HarmSeen {
    pub variant: String,
    pub metric: String,
    pub kind: String,
    pub estimate: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub message: String,
}

/// The guardrail's stop (or rollback) that left the experiment as it is now.
#[derive(Debug, Clone)]
pub struct GuardrailStop {
    pub at: touchstone_model::Timestamp,
    /// `stop` or `ship` (a rollback ships control).
    pub action: String,
    pub harms: Vec<HarmSeen>,
}

impl GuardrailStop {
    /// `threshold_35 harmed purchase`.
    pub fn short(&self) -> String {
        let harms: Vec<String> = self
            .harms
            .iter()
            .map(|harm| format!("{} harmed {}", harm.variant, harm.metric))
            .collect();
        if harms.is_empty() {
            "a variant harmed a guardrail".into()
        } else {
            harms.join("; ")
        }
    }

    pub fn when(&self) -> String {
        long_timestamp(self.at)
    }
}

/// The guardrail's stop, when the newest status change in `audit` (newest first) is the
/// checker's and the experiment is still stopped (or shipped, for a rollback) by it.
pub fn guardrail_stop(experiment: &Experiment, audit: &[AuditEntry]) -> Option<GuardrailStop> {
    if !matches!(experiment.status(), Status::Stopped | Status::Shipped) {
        return None;
    }
    let newest = audit
        .iter()
        .find(|entry| matches!(entry.action.as_str(), "start" | "stop" | "ship"))?;
    if newest.key_id != GUARDRAIL_ACTOR {
        return None;
    }
    let harms = newest.changes["reason"]["guardrail"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|harm| HarmSeen {
            variant: text(&harm["variant"]),
            metric: text(&harm["metric"]),
            kind: text(&harm["kind"]),
            estimate: harm["estimate"].as_f64(),
            interval: harm["interval"]
                .as_array()
                .and_then(|pair| Some([pair.first()?.as_f64()?, pair.get(1)?.as_f64()?])),
            message: text(&harm["message"]),
        })
        .collect();
    Some(GuardrailStop {
        at: newest.at,
        action: newest.action.clone(),
        harms,
    })
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("?").to_owned()
}

/// A harm in words: for a stage, points of conversion; for a metric, the difference itself.
fn harm_words(harm: &HarmSeen) -> String {
    let estimate = harm.estimate;
    let interval = harm.interval;
    match harm.kind.as_str() {
        "stage" => format!(
            "{variant} converts to <strong>{metric}</strong> {est} against control (always-valid interval {low} to {high}): the whole interval lies on the harmful side.",
            variant = escape(&harm.variant),
            metric = escape(&harm.metric),
            est = points(estimate),
            low = points(interval.map(|i| i[0])),
            high = points(interval.map(|i| i[1])),
        ),
        "plugin_health" => format!(
            "{variant}'s touchpoint plugin fell back {est} more often than control's (always-valid interval {low} to {high}).",
            variant = escape(&harm.variant),
            est = points(estimate),
            low = points(interval.map(|i| i[0])),
            high = points(interval.map(|i| i[1])),
        ),
        _ => format!(
            "{variant} moved the guardrail metric <strong>{metric}</strong> the harmful way: {message}.",
            variant = escape(&harm.variant),
            metric = escape(&harm.metric),
            message = escape(&harm.message),
        ),
    }
}

/// The banner, or nothing when no guardrail stop stands.
pub fn guardrail_banner(stop: Option<&GuardrailStop>) -> String {
    let Some(stop) = stop else {
        return String::new();
    };
    let what = if stop.action == "ship" {
        "rolled the experiment back: every unit now gets control"
    } else {
        "stopped the experiment: no unit is assigned to it any more"
    };
    let mut out = format!(
        r#"<section class="banner guardrail" role="alert" id="guardrail-banner"><h2>■ Stopped by the guardrail</h2><p>The automatic guardrail check {what}, on <strong>{when}</strong>, because:</p><ul>"#,
        when = escape(&stop.when()),
    );
    for harm in &stop.harms {
        let _ = write!(
            out,
            r#"<li data-variant="{}" data-metric="{}">{}</li>"#,
            escape(&harm.variant),
            escape(&harm.metric),
            harm_words(harm)
        );
    }
    if stop.harms.is_empty() {
        out.push_str("<li>a variant harmed a guardrail (the audit entry keeps no detail).</li>");
    }
    out.push_str("</ul><p><strong>What to do:</strong> find out why the variant harms (a bug, a slow page, a broken payload) and fix it before restarting. A restart asks for a reason, starts a new phase that counts from zero, and the guardrail watches again at once.</p>");
    if stop.action == "stop" {
        out.push_str(r#"<div class="actions"><button type="button" class="secondary" data-action="restart">Restart in a new phase…</button></div>"#);
    }
    out.push_str("</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::{ExperimentSpec, Timestamp};

    fn experiment(status: &str) -> Experiment {
        let spec: ExperimentSpec = serde_json::from_value(json!({
            "key": "checkout", "touchpoint": "checkout.shipping", "status": status,
            "variants": [{"key": "control", "weight": 1}, {"key": "fast", "weight": 1}],
            "journey": ["purchase"], "guardrail_stages": ["purchase"]
        }))
        .expect("a definition");
        Experiment::new(spec).expect("valid")
    }

    fn entry(key_id: &str, action: &str, changes: Value) -> AuditEntry {
        AuditEntry {
            at: Timestamp::parse_rfc3339("2026-12-01T10:00:00Z").expect("a time"),
            key_id: key_id.into(),
            action: action.into(),
            experiment: Some("checkout".into()),
            changes,
        }
    }

    #[test]
    fn the_checkers_stop_is_explained_in_words_and_offers_a_restart() {
        let reason = json!({"reason": {"guardrail": [{"variant": "fast", "metric": "purchase",
            "kind": "stage", "estimate": -0.08, "interval": [-0.12, -0.04], "message": "m"}]}});
        let audit = [
            entry("guardrail", "stop", reason),
            entry("ab12cd34", "start", json!({})),
        ];
        let stop = guardrail_stop(&experiment("stopped"), &audit).expect("a guardrail stop");
        let html = guardrail_banner(Some(&stop));
        assert!(html.contains("1 Dec 2026, 10:00 UTC"), "{html}");
        assert!(html.contains("converts to <strong>purchase</strong> \u{2212}8.00\u{202f}pp"));
        assert!(html.contains("\u{2212}12.0\u{202f}pp to \u{2212}4.00\u{202f}pp"));
        assert!(html.contains(r#"data-action="restart""#));
    }

    #[test]
    fn a_person_restarting_or_stopping_after_the_guardrail_ends_the_banner() {
        let audit = [
            entry("ab12cd34", "start", json!({})),
            entry("guardrail", "stop", json!({})),
        ];
        assert!(guardrail_stop(&experiment("running"), &audit).is_none());
        let audit = [
            entry("ab12cd34", "stop", json!({})),
            entry("guardrail", "stop", json!({})),
        ];
        assert!(guardrail_stop(&experiment("stopped"), &audit).is_none());
    }
}
