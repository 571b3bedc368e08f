//! One experiment: status and actions, the SRM banner, the plain-language summary, funnels,
//! effects, the decision panel, metrics, plugin health, effects over time, power, the
//! definition editor and the history of admin actions.

use super::decision_card::decision_card;
use super::guardrail_banner::{guardrail_banner, guardrail_stop};
use super::{effects, form, health, history, power, status_badge, status_word};
use crate::ui::format::{count, long_timestamp, p_value, percent};
use crate::ui::layout::{Session, escape, page};
use std::fmt::Write;
use touchstone_model::{Experiment, Status};
use touchstone_stats::analysis::Results;
use touchstone_store::AuditEntry;

/// What the page shows beyond the experiment and its results: which phase, and the estimated
/// date the planned sample is in (`YYYY-MM-DD`).
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The phase shown (`None`: the current one).
    pub phase: Option<u32>,
    pub eta: Option<String>,
    /// The segment section, rendered (empty: the experiment has no segment attributes).
    pub segments: String,
    /// The plugin bound at the touchpoint and the version each live server runs.
    pub plugins: Option<health::PluginServers>,
    /// The touchpoint plugin's fuel section ([`health::plugin_fuel`]), rendered; empty without one.
    pub plugin_fuel: String,
    /// The expected correlation ρ of a CUPED covariate the power panel plans with (`?rho=`).
    pub correlation: Option<f64>,
}

/// `audit`: the experiment's history, newest first (`None`: the log could not be read).
pub fn experiment_page(
    experiment: &Experiment,
    results: &Results,
    audit: Option<&[AuditEntry]>,
    session: Session,
) -> String {
    experiment_page_with(experiment, results, audit, session, &Extras::default())
}

/// [`experiment_page`] for a chosen phase and with the sample's estimated date.
pub fn experiment_page_with(
    experiment: &Experiment,
    results: &Results,
    audit: Option<&[AuditEntry]>,
    session: Session,
    extras: &Extras,
) -> String {
    let key = escape(experiment.key());
    // The card and the banner read the results as the API serves them (decision 021).
    let document = serde_json::to_value(results).unwrap_or_default();
    let stop = audit.and_then(|entries| guardrail_stop(experiment, entries));
    let units: u64 = results.variants.iter().map(|v| v.units).sum();
    let shown_phase = extras.phase.unwrap_or(experiment.phase());
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<div class="experiment" data-experiment="{key}" data-status="{status}" data-phase="{shown_phase}" data-current-phase="{current}" data-guardrail-stopped="{stopped}">"#,
        status = status_word(experiment.status()),
        current = experiment.phase(),
        stopped = stop.is_some(),
    );
    body.push_str(&header(experiment, shown_phase));
    body.push_str(&guardrail_banner(stop.as_ref()));
    body.push_str(&srm_banner(results));
    if shown_phase == experiment.phase() {
        body.push_str(&decision_card(
            experiment,
            &document,
            stop.as_ref(),
            extras.eta.as_deref(),
        ));
    } else {
        let _ = write!(
            body,
            r#"<section class="card" id="earlier-phase"><p>These are the results of <strong>phase {shown_phase}</strong>, an earlier phase: the decision is made on the current one, <a href="/ui/experiments/{key}">phase {current}</a>.</p></section>"#,
            current = experiment.phase(),
        );
    }
    if units == 0 {
        body.push_str(&empty_state(experiment));
    } else {
        body.push_str(&summary(results));
        body.push_str(&effects::funnels(results));
        body.push_str(&effects::stage_effects(results));
        body.push_str(&effects::decision(results));
        body.push_str(&effects::metrics(
            results,
            experiment.spec().currency.as_deref(),
        ));
        body.push_str(&health::plugin_health(results));
        if let Some(plugins) = &extras.plugins {
            body.push_str(&health::plugin_versions(plugins));
        }
        body.push_str(&extras.plugin_fuel);
        body.push_str(&extras.segments);
        body.push_str(
            r#"<section class="card" id="over-time"><h2>Effect over time</h2><p class="hint">Cumulative from day 0 of this phase: each point is everything counted up to the end of that day, the last one is now. The band is the always-valid interval, safe to read every day.</p><div id="over-time-chart" aria-live="polite"><p class="hint">Loading daily snapshots…</p></div></section>"#,
        );
        body.push_str(&power::power_panel(
            &results.power,
            extras.correlation,
            extras.phase,
        ));
    }
    body.push_str(&glossary());
    body.push_str(&editor(experiment));
    body.push_str(&history::history(audit));
    body.push_str(CONFIRM_DIALOG);
    body.push_str(&action_dialog(experiment));
    body.push_str("</div>");
    page(experiment.key(), &body, session)
}

/// What to do next when nothing has been counted yet — no chart, no warning.
fn empty_state(experiment: &Experiment) -> String {
    let first = experiment
        .journey()
        .first()
        .map(String::as_str)
        .unwrap_or("purchase");
    let what_first = if experiment.is_running() {
        format!(
            "Your app asks <code>POST /v1/assign</code> with <code>{{\"unit_id\": …, \"touchpoint\": \"{touchpoint}\"}}</code> to expose a unit",
            touchpoint = escape(experiment.touchpoint())
        )
    } else {
        "Start the experiment; then your app asks <code>POST /v1/assign</code> for its touchpoint to expose a unit".to_owned()
    };
    format!(
        r#"<section class="card empty" id="empty-state"><h2>No data yet</h2><p>No unit has been exposed in this phase. {what_first}, then sends events such as <code>{{"events": [{{"id": …, "unit_id": …, "name": "{first}"}}]}}</code> to <code>POST /v1/events</code>. Results, funnels and charts appear here with the first units; <code>docs/simulate.py</code> sends a simulated crowd.</p></section>"#,
        first = escape(first),
    )
}

/// A short "what is this" for every term the page uses.
fn glossary() -> String {
    let terms = [
        (
            "Control",
            "The variant every other is compared with (the current experience).",
        ),
        (
            "Relative effect",
            "How much higher or lower the variant's rate is than control's, as a share of control's rate: 10 % → 11 % is +10 %.",
        ),
        (
            "pp (percentage points)",
            "An absolute difference of two rates: 10 % → 11 % is +1 pp.",
        ),
        (
            "Confidence interval",
            "The range of effects the data are compatible with at the stated level; an interval that excludes 0 is a clear difference.",
        ),
        (
            "Always-valid interval",
            "An interval that stays valid however often you look (a sequential test): safe to read every day and to stop on.",
        ),
        (
            "p (raw) and p (adjusted)",
            "How surprising the data would be if there were no effect. Adjusted: corrected because many comparisons are made at once (Holm or Benjamini–Hochberg); the verdict uses the adjusted one.",
        ),
        (
            "Chance to beat control",
            "The Bayesian probability that the variant's rate is higher than control's, given the data.",
        ),
        (
            "Expected loss",
            "How much rate you give up on average if you ship the variant and it is in fact worse.",
        ),
        (
            "Conditional metric",
            "Only units that sent the event count (e.g. time to conversion): descriptive, not protected by randomization.",
        ),
        (
            "SRM (sample ratio mismatch)",
            "Units are not split as configured: something assigns, exposes or counts unevenly, and no effect can be trusted.",
        ),
        (
            "Guardrail",
            "A stage or metric that must not get worse: when a variant harms it with confidence the experiment is stopped (or rolled back, or an alert is raised).",
        ),
        (
            "Phase",
            "A period with fixed weights, traffic and salt. A new phase counts from zero; earlier phases stay readable.",
        ),
        (
            "Planned sample",
            "Units needed to detect the smallest change worth detecting with the chosen power.",
        ),
    ];
    let mut out = String::from(
        r#"<section class="card" id="glossary"><details><summary><h2>What the terms mean</h2></summary><dl>"#,
    );
    for (term, meaning) in terms {
        let _ = write!(out, "<dt>{term}</dt><dd>{meaning}</dd>");
    }
    out.push_str("</dl></details></section>");
    out
}

/// The dialog for actions that need more than a yes: ship (which variant), a new phase
/// (reason, weights) and a restart after a guardrail stop (reason).
fn action_dialog(experiment: &Experiment) -> String {
    let variants: String = experiment
        .variants()
        .iter()
        .map(|v| format!(r#"<option value="{k}">{k}</option>"#, k = escape(&v.key)))
        .collect();
    let weights: String = experiment
        .variants()
        .iter()
        .enumerate()
        .map(|(index, v)| {
            format!(
                r#"<div class="field"><label for="act-weight-{index}">Weight of {k}</label><input id="act-weight-{index}" type="number" min="0" step="any" inputmode="decimal" value="{w}" data-weight="{index}"></div>"#,
                k = escape(&v.key),
                w = v.weight,
            )
        })
        .collect();
    format!(
        r#"<dialog id="act" aria-labelledby="act-title"><form method="dialog" id="act-form"><h2 id="act-title"></h2><p id="act-text"></p><div class="field" id="act-variant-field"><label for="act-variant">Variant</label><select id="act-variant">{variants}</select></div><div id="act-weights">{weights}</div><div class="field" id="act-reason-field"><label for="act-reason">Reason (kept in the history)</label><textarea id="act-reason" rows="3" maxlength="1000"></textarea><p class="field-error" id="act-reason-error" role="alert" hidden>Say why: the reason is kept in the history.</p></div><p id="act-problem" class="problem" role="alert" hidden></p><div class="actions"><button value="cancel" class="secondary" formnovalidate>Cancel</button><button value="confirm" class="danger" id="act-yes">Confirm</button></div></form></dialog>"#
    )
}

fn header(experiment: &Experiment, shown_phase: u32) -> String {
    let spec = experiment.spec();
    let key = escape(experiment.key());
    let description = if spec.description.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="description">{}</p>"#,
            escape(&spec.description)
        )
    };
    let mut actions = String::new();
    match experiment.status() {
        Status::Draft => actions.push_str(
            r#"<button type="button" class="primary" data-action="start">Start experiment</button>"#,
        ),
        Status::Running => actions.push_str(
            r#"<button type="button" class="primary" data-action="ship">Ship a variant…</button><button type="button" class="secondary" data-action="phase">New phase…</button><button type="button" class="danger" data-action="stop">Stop experiment</button>"#,
        ),
        Status::Stopped => actions.push_str(
            r#"<button type="button" class="primary" data-action="ship">Ship a variant…</button><button type="button" class="secondary" data-action="start">Start again…</button>"#,
        ),
        // Stopping a shipped experiment withdraws its winner; it cannot run again.
        Status::Shipped => actions.push_str(
            r#"<button type="button" class="danger" data-action="stop">Withdraw shipped variant</button>"#,
        ),
    }
    if experiment.status() != Status::Shipped {
        let _ = write!(
            actions,
            r#"<a class="button secondary" href="/ui/experiments/{key}/edit">Edit</a>"#
        );
    }
    let phases: String = (1..=experiment.phase())
        .map(|n| {
            let selected = if n == shown_phase { " selected" } else { "" };
            let current = if n == experiment.phase() {
                " (current)"
            } else {
                ""
            };
            format!(r#"<option value="{n}"{selected}>phase {n}{current}</option>"#)
        })
        .collect();
    let phase_query = if shown_phase == experiment.phase() {
        String::new()
    } else {
        format!("?phase={shown_phase}")
    };
    format!(
        r#"<section class="headline"><p class="crumbs"><a href="/ui">Experiments</a> /</p><h1>{key} {badge}</h1><p class="meta">Touchpoint <code>{touchpoint}</code> · journey {journey} · {variants} variants, control <strong>{control}</strong> · traffic {traffic} · <span id="phase" data-phase="{phase}">phase {phase}{since}</span></p>{description}<div class="actions">{actions}</div><div class="tools"><label for="phase-select">Show</label><select id="phase-select">{phases}</select><button type="button" class="secondary" id="share-link">Copy link</button><a class="button secondary" id="export-csv" href="/ui/experiments/{key}/results.csv{phase_query}" download>CSV</a><a class="button secondary" id="export-json" href="/v1/experiments/{key}/results{phase_query}" download="{key}-results.json">JSON</a></div><p id="action-problem" class="problem" role="alert" hidden></p><p id="share-note" class="hint" aria-live="polite" hidden></p></section>"#,
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
            .map(|at| format!(" since {}", escape(&long_timestamp(at))))
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
    let json = serde_json::to_string_pretty(&form::editable(experiment.spec())).unwrap_or_default();
    let running_note = if experiment.is_running() {
        "<p class=\"hint\">This experiment is <strong>running</strong>: payloads, journey, metrics and targeting may change; variants, weights and salt may not (that would reshuffle exposed units), and traffic may only grow. You will be asked to confirm.</p>"
    } else {
        ""
    };
    format!(
        r#"<section class="card" id="definition"><details><summary><h2>Definition as JSON (for engineers)</h2></summary><p class="hint">Status, phases and the shipped variant are kept by the server and change only through the buttons above.</p>{running_note}<form id="definition-form" novalidate><label for="definition-text">Experiment definition (JSON)</label><div class="editor"><textarea id="definition-text" name="definition" spellcheck="false" rows="{rows}" aria-describedby="definition-errors">{json}</textarea><div class="gutter" aria-hidden="true"></div></div><div id="definition-errors" class="field-errors" role="alert" aria-live="assertive"></div><div class="actions"><button type="submit" class="primary">Save definition</button><button type="reset" class="secondary">Undo changes</button></div></form></details></section>"#,
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
        // A draft without data says what to do next, and warns about nothing.
        assert!(html.contains(r#"id="empty-state""#));
        assert!(!html.contains(r#"class="warnings""#), "{html}");
        assert!(!html.contains("not enough data"));
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
