//! One experiment: status and actions, the SRM banner, the plain-language summary, funnels,
//! effects, the decision panel, metrics, plugin health, effects over time, power, the
//! definition editor and the history of admin actions.

use super::{effects, health, history, power, status_badge, status_word};
use crate::ui::format::{count, p_value, percent};
use crate::ui::layout::{Session, escape, page};
use std::fmt::Write;
use touchstone_model::{Experiment, Status};
use touchstone_stats::analysis::Results;
use touchstone_store::AuditEntry;

/// `audit`: the experiment's history, newest first (`None`: the log could not be read).
pub fn experiment_page(
    experiment: &Experiment,
    results: &Results,
    audit: Option<&[AuditEntry]>,
    session: Session,
) -> String {
    experiment_page_with_plugins(experiment, results, audit, session, None, "")
}

/// [`experiment_page`] with the version of the touchpoint's plugin per server, when one is
/// bound there, and the touchpoint plugin's fuel section ([`health::plugin_fuel`]) after
/// plugin health.
pub fn experiment_page_with_plugins(
    experiment: &Experiment,
    results: &Results,
    audit: Option<&[AuditEntry]>,
    session: Session,
    plugins: Option<&health::PluginServers>,
    plugin_fuel: &str,
) -> String {
    let key = escape(experiment.key());
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<div class="experiment" data-experiment="{key}" data-status="{status}">"#,
        status = status_word(experiment.status()),
    );
    body.push_str(&header(experiment));
    body.push_str(&srm_banner(results));
    body.push_str(&summary(results));
    body.push_str(&effects::funnels(results));
    body.push_str(&effects::stage_effects(results));
    body.push_str(&effects::decision(results));
    body.push_str(&effects::metrics(results));
    body.push_str(&health::plugin_health(results));
    if let Some(plugins) = plugins {
        body.push_str(&health::plugin_versions(plugins));
    }
    body.push_str(plugin_fuel);
    body.push_str(
        r#"<section class="card" id="over-time"><h2>Over time</h2><div id="over-time-chart" aria-live="polite"><p class="hint">Loading daily snapshots…</p></div></section>"#,
    );
    body.push_str(&power::power_panel(&results.power));
    body.push_str(&editor(experiment));
    body.push_str(&history::history(audit));
    body.push_str(CONFIRM_DIALOG);
    body.push_str("</div>");
    page(experiment.key(), &body, session)
}

fn header(experiment: &Experiment) -> String {
    let spec = experiment.spec();
    let description = if spec.description.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="description">{}</p>"#,
            escape(&spec.description)
        )
    };
    let action = match experiment.status() {
        Status::Running => {
            r#"<button type="button" class="danger" data-action="stop">Stop experiment</button>"#
        }
        Status::Draft | Status::Stopped => {
            r#"<button type="button" class="primary" data-action="start">Start experiment</button>"#
        }
        // Stopping a shipped experiment withdraws its winner; it cannot run again.
        Status::Shipped => {
            r#"<button type="button" class="danger" data-action="stop">Withdraw shipped variant</button>"#
        }
    };
    format!(
        r#"<section class="headline"><p class="crumbs"><a href="/ui">Experiments</a> /</p><h1>{key} {badge}</h1><p class="meta">Touchpoint <code>{touchpoint}</code> · journey {journey} · {variants} variants, control <strong>{control}</strong> · traffic {traffic} · <span id="phase" data-phase="{phase}">phase {phase}{since}</span></p>{description}<div class="actions">{action}</div><p id="action-problem" class="problem" role="alert" hidden></p></section>"#,
        key = escape(experiment.key()),
        badge = status_badge(experiment.status()),
        touchpoint = escape(experiment.touchpoint()),
        journey = experiment
            .journey()
            .iter()
            .map(|stage| format!("<code>{}</code>", escape(stage)))
            .collect::<Vec<_>>()
            .join(" → "),
        variants = experiment.variants().len(),
        control = escape(&experiment.control().key),
        traffic = percent(Some(spec.traffic)),
        phase = experiment.phase(),
        since = spec
            .phase_started_at
            .map(|at| format!(" since {}", escape(&at.to_rfc3339())))
            .unwrap_or_default(),
    )
}

/// A sample-ratio mismatch makes every effect suspect: say so before any number.
fn srm_banner(results: &Results) -> String {
    if !results.srm.mismatch {
        return String::new();
    }
    let split = results
        .variants
        .iter()
        .map(|v| {
            format!(
                "{} {} (expected {})",
                escape(&v.key),
                count(v.units),
                percent(Some(v.weight))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let total: u64 = results.variants.iter().map(|v| v.units).sum();
    let observed = results
        .variants
        .iter()
        .map(|v| {
            let share = (total > 0).then(|| v.units as f64 / total as f64);
            format!("{} {}", escape(&v.key), percent(share))
        })
        .collect::<Vec<_>>()
        .join(" / ");
    format!(
        r#"<section class="banner srm" role="alert" id="srm-banner"><h2>⚠ Sample ratio mismatch</h2><p>The units are not split the way the experiment is configured: {split}; observed {observed} (chi-square p = {p}). A split this far off almost never happens by chance.</p><p><strong>What it means:</strong> something assigns, exposes or counts units unevenly between variants — a redirect or page error in one variant, a bot filter, a tracking gap, targeting that changed mid-test. Until the cause is found, the effects below may be biased: do not decide on them.</p></section>"#,
        p = p_value(results.srm.p_value),
    )
}

fn summary(results: &Results) -> String {
    let mut out = String::from(r#"<section class="card" id="summary"><h2>Summary</h2>"#);
    if results.summary.is_empty() {
        out.push_str(r#"<p class="hint">No comparison yet.</p>"#);
    } else {
        out.push_str("<ul class=\"summary\">");
        for sentence in &results.summary {
            let _ = write!(out, "<li>{}</li>", escape(sentence));
        }
        out.push_str("</ul>");
    }
    if !results.warnings.is_empty() {
        out.push_str(r#"<ul class="warnings">"#);
        for warning in &results.warnings {
            let _ = write!(out, "<li>⚠ {}</li>", escape(warning));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}

/// The definition as JSON, saved through `PUT /v1/experiments/{key}` by the page's script.
fn editor(experiment: &Experiment) -> String {
    let json = serde_json::to_string_pretty(experiment.spec()).unwrap_or_default();
    let running_note = if experiment.is_running() {
        "<p class=\"hint\">This experiment is <strong>running</strong>: payloads, journey, metrics and targeting may change; variants, weights and salt may not (that would reshuffle exposed units), and traffic may only grow. You will be asked to confirm.</p>"
    } else {
        ""
    };
    format!(
        r#"<section class="card" id="definition"><h2>Definition</h2>{running_note}<form id="definition-form" novalidate><label for="definition-text">Experiment definition (JSON)</label><div class="editor"><textarea id="definition-text" name="definition" spellcheck="false" rows="{rows}" aria-describedby="definition-errors">{json}</textarea><div class="gutter" aria-hidden="true"></div></div><div id="definition-errors" class="field-errors" role="alert" aria-live="assertive"></div><div class="actions"><button type="submit" class="primary">Save definition</button><button type="reset" class="secondary">Undo changes</button></div></form></section>"#,
        rows = json.lines().count().clamp(8, 30),
        json = escape(&json),
    )
}

const CONFIRM_DIALOG: &str = r#"<dialog id="confirm" aria-labelledby="confirm-title"><form method="dialog"><h2 id="confirm-title">Are you sure?</h2><p id="confirm-text"></p><div class="actions"><button value="cancel" class="secondary" autofocus>Cancel</button><button value="confirm" class="danger" id="confirm-yes">Confirm</button></div></form></dialog>"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::{Aggregates, ExperimentSpec};

    /// An experiment with `units` exposed per variant and a tenth of them purchasing.
    fn analysed(status: &str, units: [u64; 2]) -> (Experiment, Results) {
        let spec: ExperimentSpec = serde_json::from_value(json!({
            "key": "checkout", "touchpoint": "checkout.shipping", "status": status,
            "description": "<script>alert(1)</script>",
            "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
            "journey": ["purchase"]
        }))
        .expect("a definition");
        let experiment = Experiment::new(spec).expect("valid");
        let variant = |key: &str, units: u64| {
            json!({"key": key, "units": units, "metrics": [], "stages": [
                {"stage": "purchase", "reached": units / 10,
                 "seconds": {"count": units / 10, "sum": 100.0, "sum_squares": 2000.0}}]})
        };
        let aggregates: Aggregates = serde_json::from_value(json!({"variants": [
            variant("control", units[0]), variant("treatment", units[1])
        ]}))
        .expect("aggregates");
        let results = touchstone_stats::analyze(&experiment, &aggregates);
        (experiment, results)
    }

    #[test]
    fn a_sample_ratio_mismatch_is_explained_before_any_number() {
        let (experiment, results) = analysed("running", [1000, 800]);
        assert!(results.srm.mismatch, "1000 vs 800 on a 50/50 split");
        let html = experiment_page(&experiment, &results, Some(&[]), Session::Open);
        let banner = html.find(r#"id="srm-banner""#).expect("an SRM banner");
        assert!(banner < html.find(r#"id="funnels""#).expect("funnels"));
        assert!(html.contains("control 1,000 (expected 50.0\u{202f}%)"));
        assert!(html.contains("observed control 55.6\u{202f}% / treatment 44.4\u{202f}%"));
        assert!(html.contains("do not decide on them"));
    }

    #[test]
    fn a_balanced_split_has_no_banner() {
        let (experiment, results) = analysed("running", [1000, 1010]);
        assert!(!results.srm.mismatch);
        let html = experiment_page(&experiment, &results, Some(&[]), Session::Open);
        assert!(!html.contains("srm-banner"));
    }

    #[test]
    fn the_action_follows_the_status_and_text_is_escaped() {
        let (running, results) = analysed("running", [1000, 1010]);
        let html = experiment_page(&running, &results, Some(&[]), Session::SignedIn);
        assert!(html.contains(r#"data-action="stop""#) && !html.contains(r#"data-action="start""#));
        assert!(
            html.contains("is <strong>running</strong>"),
            "the editor warns"
        );
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let (draft, results) = analysed("draft", [0, 0]);
        let html = experiment_page(&draft, &results, Some(&[]), Session::SignedIn);
        assert!(html.contains(r#"data-action="start""#));
        assert!(html.contains("No comparison yet."));
    }

    #[test]
    fn a_guardrail_stage_is_marked_and_plugin_health_is_shown_when_a_plugin_was_called() {
        let (experiment, mut results) = analysed("running", [1000, 1010]);
        let html = experiment_page(&experiment, &results, Some(&[]), Session::Open);
        assert!(
            !html.contains("tag-guardrail"),
            "nothing is a guardrail yet"
        );
        assert!(!html.contains(r#"id="plugin-health""#));
        results.stages[0].guardrail = true;
        let calls = [
            touchstone_model::PluginCalls {
                calls: 200,
                fallbacks: 0,
            },
            touchstone_model::PluginCalls {
                calls: 200,
                fallbacks: 100,
            },
        ];
        results.plugin_health = touchstone_stats::plugin_health(&experiment, &calls);
        let html = experiment_page(&experiment, &results, Some(&[]), Session::Open);
        assert!(
            html.contains(r#"<h3>purchase <span class="badge tag-guardrail""#),
            "{html}"
        );
        let section = html
            .find(r#"id="plugin-health""#)
            .expect("a plugin-health section");
        assert!(html[section..].contains(r#"data-variant="treatment" data-fallback-share="0.5""#));
        assert!(html[section..].contains("▼ fails more"));
    }

    #[test]
    fn every_summary_sentence_is_shown() {
        let (experiment, results) = analysed("running", [1000, 1010]);
        let html = experiment_page(&experiment, &results, Some(&[]), Session::Open);
        assert!(!results.summary.is_empty());
        for sentence in &results.summary {
            assert!(html.contains(&format!("<li>{}</li>", escape(sentence))));
        }
    }
}
