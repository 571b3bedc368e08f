//! The decision card at the top of an experiment, and its short form on the list: ship, keep
//! running or stop, in one sentence, with the interval that produced it, the sample's progress
//! and an estimated date, and the guardrail and sample-ratio state.
//!
//! The card reads the verdict the results document carries (`verdict`, `verdict_interval`,
//! `decided_by` of each comparison, `sample` at the top: the API's own rule); it computes no
//! statistic. It reads the document as JSON, the shape the API serves, so it shows exactly what
//! a client of `GET /v1/experiments/{key}/results` sees (decision 021).

use super::guardrail_banner::GuardrailStop;
use crate::ui::format::{count, long_date, percent, points, signed_percent};
use crate::ui::layout::escape;
use serde_json::Value;
use std::fmt::Write;
use touchstone_model::{Experiment, Status};
use touchstone_stats::analysis::{CupedResult, cuped_words};

/// What the card advises; also its `data-decision` and CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Ship,
    KeepRunning,
    Stop,
}

impl Advice {
    pub fn word(self) -> &'static str {
        match self {
            Advice::Ship => "ship",
            Advice::KeepRunning => "keep-running",
            Advice::Stop => "stop",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Advice::Ship => "✓ Ship",
            Advice::KeepRunning => "◷ Keep running",
            Advice::Stop => "■ Stop",
        }
    }
}

/// Everything the card shows, worked out once for the full and the short form.
#[derive(Debug, Clone)]
pub struct Decision {
    pub advice: Advice,
    /// The one sentence.
    pub sentence: String,
    /// The interval that produced the verdict, in words (`None`: no comparison yet).
    pub interval: Option<String>,
    pub sample: SampleProgress,
}

/// The planned sample per variant and how much of it is in (the smallest arm), as the results
/// document states it.
#[derive(Debug, Clone, Default)]
pub struct SampleProgress {
    pub units: u64,
    pub planned_units: Option<u64>,
    pub progress: Option<f64>,
}

/// One variant's headline comparison: the last journey stage against control.
struct Headline<'a> {
    variant: &'a str,
    verdict: String,
    comparison: &'a Value,
}

/// The comparison's verdict as the results state it. Documents from before the verdict
/// contract carry none: then the rule's own `significant` flag and the estimate's side.
fn verdict_of(comparison: &Value) -> String {
    if let Some(verdict) = comparison["verdict"].as_str() {
        return verdict.to_owned();
    }
    let estimate = comparison["relative"]["estimate"]
        .as_f64()
        .or(comparison["absolute"]["estimate"].as_f64());
    match (comparison["significant"].as_bool(), estimate) {
        (Some(true), Some(e)) if e > 0.0 => "better".into(),
        (Some(true), Some(e)) if e < 0.0 => "worse".into(),
        _ => "inconclusive".into(),
    }
}

fn headlines(results: &Value) -> (Option<&str>, Vec<Headline<'_>>) {
    let Some(stage) = results["stages"]
        .as_array()
        .and_then(|stages| stages.last())
    else {
        return (None, Vec::new());
    };
    let rows = stage["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|cell| {
            let comparison = cell.get("vs_control").filter(|c| !c.is_null())?;
            comparison["relative"]["estimate"]
                .as_f64()
                .or(comparison["absolute"]["estimate"].as_f64())?;
            Some(Headline {
                variant: cell["key"].as_str().unwrap_or("?"),
                verdict: verdict_of(comparison),
                comparison,
            })
        })
        .collect();
    (stage["stage"].as_str(), rows)
}

/// The sample per variant (the smallest arm's units against the plan), as the results'
/// `sample` states it; before that field, the power panel's same numbers.
pub fn sample_progress(results: &Value) -> SampleProgress {
    let sample = &results["sample"];
    let source = if sample.is_object() {
        (
            sample["units"].as_u64(),
            sample["planned_units"].as_u64(),
            sample["progress"].as_f64(),
        )
    } else {
        let power = &results["power"];
        (
            power["units_per_variant"].as_u64(),
            power["n_per_variant"].as_u64(),
            power["progress"].as_f64(),
        )
    };
    SampleProgress {
        units: source.0.unwrap_or(0),
        planned_units: source.1,
        progress: source.2,
    }
}

/// `+12.3 % (95 % always-valid interval +4.1 % to +20.5 %, Holm-adjusted)`.
fn interval_words(comparison: &Value, alpha: f64) -> Option<String> {
    let chosen = &comparison["verdict_interval"];
    let (relative, absolute, level, adjusted, note, rule) = if chosen.is_object() {
        (
            pair(&chosen["relative"]),
            pair(&chosen["absolute"]),
            chosen["level"].as_f64().unwrap_or(1.0 - alpha),
            chosen["adjusted"].as_bool().unwrap_or(false),
            chosen["note"].as_str().map(str::to_owned),
            comparison["decided_by"].as_str().unwrap_or("fixed"),
        )
    } else {
        (
            pair(&comparison["relative"]["ci"]),
            pair(&comparison["absolute"]["ci"]),
            1.0 - alpha,
            false,
            None,
            "fixed",
        )
    };
    let kind = if rule == "sequential" {
        "always-valid"
    } else {
        "confidence"
    };
    let level = format!("{}\u{202f}%", (level * 1000.0).round() / 10.0);
    let (estimate, bounds) = match (relative, absolute) {
        (Some([low, high]), _) => (
            signed_percent(comparison["relative"]["estimate"].as_f64()),
            format!(
                "{} to {}",
                signed_percent(Some(low)),
                signed_percent(Some(high))
            ),
        ),
        (None, Some([low, high])) => (
            points(comparison["absolute"]["estimate"].as_f64()),
            format!("{} to {}", points(Some(low)), points(Some(high))),
        ),
        (None, None) => return None,
    };
    let mut words = format!("{estimate} ({level} {kind} interval {bounds}");
    if adjusted {
        words.push_str(", adjusted for several comparisons");
    }
    words.push(')');
    if let Some(note) = note.filter(|n| !n.is_empty()) {
        let _ = write!(words, " — {note}");
    }
    // The verdict is the adjusted test's when a covariate adjusts it: say so in the results'
    // own words (decision 023).
    let cuped = serde_json::from_value::<CupedResult>(comparison["cuped"].clone()).ok();
    if let Some(cuped) = cuped.as_ref().and_then(cuped_words) {
        let _ = write!(words, " — {cuped}");
    }
    Some(words)
}

fn pair(value: &Value) -> Option<[f64; 2]> {
    let bounds = value.as_array()?;
    Some([bounds.first()?.as_f64()?, bounds.get(1)?.as_f64()?])
}

/// The decision for an experiment in its current state.
pub fn decide(
    experiment: &Experiment,
    results: &Value,
    guardrail_stop: Option<&GuardrailStop>,
) -> Decision {
    let alpha = results["alpha"].as_f64().unwrap_or(0.05);
    let sample = sample_progress(results);
    let (stage, rows) = headlines(results);
    let stage = stage.unwrap_or("the last stage");
    let control = results["control"].as_str().unwrap_or("control");
    let best = |verdict: &str| {
        rows.iter()
            .filter(|row| row.verdict == verdict)
            .max_by(|a, b| {
                let key = |row: &Headline| {
                    row.comparison["relative"]["estimate"]
                        .as_f64()
                        .unwrap_or(0.0)
                        .abs()
                };
                key(a).total_cmp(&key(b))
            })
    };
    let interval_of = |row: Option<&Headline>| {
        row.or(rows.first())
            .and_then(|row| interval_words(row.comparison, alpha))
    };
    let srm = results["srm"]["mismatch"].as_bool().unwrap_or(false);
    let (advice, sentence, chosen) = if let Some(stop) = guardrail_stop {
        (
            Advice::Stop,
            format!(
                "Stopped by the guardrail: {}. Do not restart until the cause is fixed.",
                stop.short()
            ),
            None,
        )
    } else if experiment.status() == Status::Shipped {
        let shipped = experiment
            .shipped_variant()
            .map(|index| experiment.variants()[index].key.clone())
            .unwrap_or_default();
        (
            Advice::Ship,
            format!(
                "Shipped: every unit the targeting admits gets {shipped}; the results below are frozen as they were."
            ),
            rows.iter().find(|row| row.variant == shipped),
        )
    } else if experiment.status() == Status::Draft {
        (
            Advice::KeepRunning,
            "Not started: start the experiment to collect units; the verdict appears here as they arrive.".into(),
            None,
        )
    } else if srm {
        (
            Advice::Stop,
            "Stop and investigate: units are not split as configured (sample ratio mismatch), so no effect here can be trusted.".into(),
            None,
        )
    } else if let Some(row) = best("worse") {
        (
            Advice::Stop,
            format!(
                "{}: {} converts to {stage} worse than {control}.",
                if experiment.is_running() {
                    "Stop"
                } else {
                    "Keep it off"
                },
                row.variant
            ),
            Some(row),
        )
    } else if let Some(row) = best("better") {
        (
            Advice::Ship,
            format!(
                "Ship {}: it converts to {stage} better than {control}.",
                row.variant
            ),
            Some(row),
        )
    } else if sample.units == 0 && experiment.is_running() {
        (
            Advice::KeepRunning,
            "Keep running: no units yet — a unit counts once the app asks POST /v1/assign for this touchpoint.".into(),
            None,
        )
    } else if sample.units == 0 {
        (
            Advice::Stop,
            "Stopped before any unit was exposed: start it again to collect data.".into(),
            None,
        )
    } else if rows.iter().any(|row| row.verdict == "waiting") {
        (
            Advice::KeepRunning,
            format!(
                "Keep running: the fixed-horizon test reads {stage} only once the planned sample is in."
            ),
            None,
        )
    } else if experiment.is_running() {
        (
            Advice::KeepRunning,
            format!(
                "Keep running: no variant converts to {stage} differently from {control} with confidence yet."
            ),
            None,
        )
    } else {
        (
            Advice::Stop,
            format!(
                "Stopped without an answer: no variant converted to {stage} differently from {control} with confidence."
            ),
            None,
        )
    };
    Decision {
        advice,
        sentence,
        interval: interval_of(chosen),
        sample,
    }
}

/// The card's sample line: `2,400 of 10,000 planned units per variant (24.0 %); … around 14 Dec 2026`.
fn sample_line(sample: &SampleProgress, eta: Option<&str>) -> String {
    let planned = match sample.planned_units {
        Some(planned) => format!(
            "{} of {} planned units per variant ({})",
            count(sample.units),
            count(planned),
            percent(sample.progress)
        ),
        None => format!(
            "{} units per variant (the plan needs a baseline rate first)",
            count(sample.units)
        ),
    };
    let when = match (sample.progress, eta) {
        (Some(progress), _) if progress >= 1.0 => ": the planned sample is in".to_owned(),
        (_, Some(date)) => format!(
            "; at the recent pace it is in around <strong data-eta=\"{date}\">{}</strong>",
            escape(&long_date(date))
        ),
        _ => String::new(),
    };
    format!("{}{when}", escape(&planned))
}

/// The full card: `eta` is the estimated date (`YYYY-MM-DD`) the planned sample is in.
pub fn decision_card(
    experiment: &Experiment,
    results: &Value,
    guardrail_stop: Option<&GuardrailStop>,
    eta: Option<&str>,
) -> String {
    let decision = decide(experiment, results, guardrail_stop);
    let progress = decision.sample.progress.unwrap_or(0.0).clamp(0.0, 1.0);
    let guardrails = guardrail_line(experiment, guardrail_stop);
    let srm = match (results["srm"]["mismatch"].as_bool(), decision.sample.units) {
        (_, 0) => "no units yet".to_owned(),
        (Some(true), _) => {
            r#"<span class="bad">⚠ off the configured weights — see the banner</span>"#.to_owned()
        }
        _ => r#"<span class="ok">as configured</span>"#.to_owned(),
    };
    let interval = decision
        .interval
        .as_deref()
        .map(|words| {
            format!(
                r#"<p class="verdict-interval" data-verdict-interval>Effect on the decisive stage: {}</p>"#,
                escape(words)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<section class="card decision decision-{advice}" id="decision-card" data-decision="{advice}"><h2><span class="advice">{title}</span></h2><p class="sentence">{sentence}</p>{interval}<div class="sample"><progress max="100" value="{now}" aria-label="share of the planned sample"></progress><p>Sample: {sample}.</p></div><ul class="facts"><li>Guardrails: {guardrails}</li><li>Split: {srm}</li></ul></section>"#,
        advice = decision.advice.word(),
        title = decision.advice.title(),
        sentence = escape(&decision.sentence),
        now = (progress * 100.0).round(),
        sample = sample_line(&decision.sample, eta),
    )
}

fn guardrail_line(experiment: &Experiment, stop: Option<&GuardrailStop>) -> String {
    let spec = experiment.spec();
    let mut watched: Vec<String> = spec.guardrail_stages.clone();
    watched.extend(
        spec.metrics
            .iter()
            .filter(|m| m.role == touchstone_model::MetricRole::Guardrail)
            .map(|m| m.key.clone()),
    );
    if let Some(stop) = stop {
        return format!(
            r#"<span class="bad">■ stopped it on {}</span>"#,
            escape(&stop.when())
        );
    }
    if watched.is_empty() {
        return "none defined (plugin fallbacks are still watched)".into();
    }
    let state = if experiment.is_running() {
        "armed"
    } else {
        "armed once it runs"
    };
    format!(
        r#"<span class="ok">{state}</span> — {}"#,
        escape(&watched.join(", "))
    )
}

/// The list's short form: the advice and its sentence.
pub fn short_card(
    experiment: &Experiment,
    results: &Value,
    guardrail_stop: Option<&GuardrailStop>,
) -> String {
    let decision = decide(experiment, results, guardrail_stop);
    format!(
        r#"<span class="short-decision decision-{advice}" data-decision="{advice}"><strong>{title}</strong> <span class="why">{sentence}</span></span>"#,
        advice = decision.advice.word(),
        title = decision.advice.title(),
        sentence = escape(&decision.sentence),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::ExperimentSpec;

    fn experiment(status: &str) -> Experiment {
        let spec: ExperimentSpec = serde_json::from_value(json!({
            "key": "checkout", "touchpoint": "checkout.shipping", "status": status,
            "variants": [{"key": "control", "weight": 1}, {"key": "fast", "weight": 1}],
            "journey": ["cart", "purchase"], "guardrail_stages": ["cart"]
        }))
        .expect("a definition");
        Experiment::new(spec).expect("valid")
    }

    /// A results document as the API serves it, with the verdict contract's fields.
    fn results(verdict: &str, estimate: f64, mismatch: bool) -> Value {
        json!({
            "control": "control", "alpha": 0.05,
            "variants": [{"key": "control", "units": 2000}, {"key": "fast", "units": 2000}],
            "srm": {"mismatch": mismatch},
            "sample": {"planned_units": 8000, "units": 4000, "progress": 0.5},
            "stages": [{"stage": "purchase", "variants": [
                {"key": "control", "vs_control": null},
                {"key": "fast", "vs_control": {
                    "relative": {"estimate": estimate, "ci": [estimate - 0.05, estimate + 0.05]},
                    "absolute": {"estimate": estimate / 10.0},
                    "significant": verdict == "better" || verdict == "worse",
                    "decided_by": "sequential", "verdict": verdict,
                    "verdict_interval": {"absolute": [0.001, 0.02], "relative": [estimate - 0.08, estimate + 0.08],
                                         "level": 0.95, "adjusted": true, "note": null}}}
            ]}]
        })
    }

    #[test]
    fn the_three_advices_follow_the_verdict_the_results_carry() {
        let running = experiment("running");
        let ship = decide(&running, &results("better", 0.12, false), None);
        assert_eq!(ship.advice, Advice::Ship);
        assert!(ship.sentence.starts_with("Ship fast:"), "{}", ship.sentence);
        let interval = ship.interval.expect("the interval that decided");
        assert!(
            interval.contains("95\u{202f}% always-valid interval +4.00\u{202f}% to +20.0\u{202f}%"),
            "{interval}"
        );
        assert!(interval.contains("adjusted"));
        let stop = decide(&running, &results("worse", -0.12, false), None);
        assert_eq!(stop.advice, Advice::Stop);
        assert!(stop.sentence.starts_with("Stop: fast"));
        let keep = decide(&running, &results("inconclusive", 0.01, false), None);
        assert_eq!(keep.advice, Advice::KeepRunning);
        let waiting = decide(&running, &results("waiting", 0.3, false), None);
        assert_eq!(
            waiting.advice,
            Advice::KeepRunning,
            "a fixed test before its sample decides nothing"
        );
        assert!(waiting.sentence.contains("planned sample"));
    }

    #[test]
    fn a_mismatch_or_a_draft_overrides_any_effect() {
        let srm = decide(&experiment("running"), &results("better", 0.12, true), None);
        assert_eq!(srm.advice, Advice::Stop);
        assert!(srm.sentence.contains("sample ratio mismatch"));
        let draft = decide(&experiment("draft"), &results("better", 0.12, false), None);
        assert_eq!(draft.advice, Advice::KeepRunning);
        assert!(draft.sentence.starts_with("Not started"));
    }

    #[test]
    fn the_card_shows_the_sample_with_its_date_and_the_guardrail_state() {
        let html = decision_card(
            &experiment("running"),
            &results("inconclusive", 0.01, false),
            None,
            Some("2026-12-14"),
        );
        assert!(html.contains(r#"data-decision="keep-running""#));
        assert!(
            html.contains("4,000 of 8,000 planned units per variant (50.0\u{202f}%)"),
            "{html}"
        );
        assert!(html.contains("14 Dec 2026"));
        assert!(html.contains("armed</span> — cart"));
        assert!(html.contains("as configured"));
    }

    #[test]
    fn documents_without_the_contract_read_the_rules_significance() {
        let mut document = results("better", 0.12, false);
        let comparison = &mut document["stages"][0]["variants"][1]["vs_control"];
        for field in ["verdict", "verdict_interval", "decided_by"] {
            comparison.as_object_mut().expect("an object").remove(field);
        }
        let decision = decide(&experiment("running"), &document, None);
        assert_eq!(decision.advice, Advice::Ship);
        assert!(
            decision
                .interval
                .expect("an interval")
                .contains("confidence interval")
        );
    }
}
