//! The experiment page's result sections: funnels, per-stage effects (forest plot and table),
//! the decision panel (chance to beat control, expected loss) and the metrics table.

use super::{data_number, verdict, verdict_chip};
use crate::ui::charts::bars::share_bar;
use crate::ui::charts::forest::{ForestRow, forest_on, shared_half_width};
use crate::ui::charts::funnel::{FunnelStage, funnel};
use crate::ui::format::{
    chance, count, duration, interval, money, number, p_value, percent, points, signed_percent,
};
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_model::{Direction, MetricKind};
use touchstone_stats::analysis::{Comparison, Results, StageResult};
use touchstone_stats::correction::Correction;

fn correction_name(correction: Correction) -> &'static str {
    match correction {
        Correction::Holm => "Holm",
        Correction::BenjaminiHochberg => "Benjamini–Hochberg",
    }
}

/// One funnel per variant, and the same numbers as a table.
pub fn funnels(results: &Results) -> String {
    let mut out = String::from(
        r#"<section class="card" id="funnels"><h2>Funnel per variant</h2><p class="hint">Share of exposed units that reached each stage; the drop-off is the share lost since the previous stage.</p><div class="funnels">"#,
    );
    for (index, variant) in results.variants.iter().enumerate() {
        let stages: Vec<FunnelStage> = results
            .stages
            .iter()
            .filter_map(|stage| {
                let cell = stage.variants.iter().find(|v| v.key == variant.key)?;
                Some(FunnelStage {
                    stage: &stage.stage,
                    reached: cell.reached,
                    rate: cell.rate,
                    drop_off: cell.drop_off,
                })
            })
            .collect();
        let _ = write!(
            out,
            r#"<figure class="funnel" data-variant="{key}"><figcaption><span class="swatch swatch-{index}"></span>{key}{control}</figcaption>{chart}</figure>"#,
            key = escape(&variant.key),
            index = index % 6,
            control = if variant.key == results.control {
                " <small>(control)</small>"
            } else {
                ""
            },
            chart = funnel(
                &format!("funnel-{index}"),
                &variant.key,
                index,
                variant.units,
                &stages
            ),
        );
    }
    out.push_str("</div>");
    out.push_str(r#"<div class="table-wrap"><table class="numbers" id="funnel-table"><caption>Units at each stage</caption><thead><tr><th scope="col">Stage</th>"#);
    for variant in &results.variants {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, escape(&variant.key));
    }
    out.push_str("</tr></thead><tbody><tr><th scope=\"row\">exposed</th>");
    for variant in &results.variants {
        let _ = write!(
            out,
            r#"<td data-variant="{}" data-stage="exposed" data-reached="{}">{}</td>"#,
            escape(&variant.key),
            variant.units,
            count(variant.units)
        );
    }
    out.push_str("</tr>");
    for stage in &results.stages {
        let _ = write!(out, r#"<tr><th scope="row">{}</th>"#, escape(&stage.stage));
        for variant in &results.variants {
            match stage.variants.iter().find(|v| v.key == variant.key) {
                Some(cell) => {
                    let _ = write!(
                        out,
                        r#"<td data-variant="{}" data-stage="{}" data-reached="{}" data-rate="{}">{} <small>({} · {} drop-off)</small></td>"#,
                        escape(&variant.key),
                        escape(&stage.stage),
                        cell.reached,
                        data_number(cell.rate),
                        count(cell.reached),
                        percent(cell.rate),
                        percent(cell.drop_off),
                    );
                }
                None => out.push_str("<td>–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// The control's rate at a stage: scales the always-valid interval of the difference onto the
/// relative axis.
fn control_rate(results: &Results, stage: &StageResult) -> Option<f64> {
    stage
        .variants
        .iter()
        .find(|v| v.key == results.control)
        .and_then(|v| v.rate)
        .filter(|rate| *rate > 0.0)
}

fn forest_rows<'a>(results: &'a Results, stage: &'a StageResult) -> Vec<ForestRow<'a>> {
    let base = control_rate(results, stage);
    stage
        .variants
        .iter()
        .filter_map(|cell| {
            let comparison = cell.vs_control.as_ref()?;
            Some(ForestRow {
                variant: &cell.key,
                estimate: comparison.relative.estimate,
                ci: comparison.relative.ci,
                always_valid: comparison
                    .sequential
                    .ci
                    .zip(base)
                    .map(|([low, high], base)| [low / base, high / base]),
                verdict: verdict(comparison, true),
            })
        })
        .collect()
}

/// Per stage: the forest plot of relative effects and a table of every number behind it.
pub fn stage_effects(results: &Results) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="card" id="effects"><h2>Effect per stage</h2><p class="hint">Relative effect against <strong>{control}</strong>. Thick bar: uncorrected {confidence}&#8239;% confidence interval (Welch's test; Fieller's interval of the ratio). Dashed line: uncorrected always-valid interval, safe to read every day (the difference's interval divided by the control's rate). Colour and symbol give the verdict of the {rule} test after the {correction} correction across all comparisons; the interval that decided it, at the level the correction used, is the one the decision card and the summary quote (see <a href='#glossary'>what the terms mean</a>); every stage shares one scale: <span class="verdict verdict-better">▲ better</span> <span class="verdict verdict-worse">▼ worse</span> <span class="verdict verdict-inconclusive">● inconclusive</span>.</p>"#,
        control = escape(&results.control),
        confidence = ((1.0 - results.alpha) * 1000.0).round() / 10.0,
        correction = correction_name(results.correction),
        rule = match results.analysis {
            touchstone_model::Analysis::Sequential => "always-valid",
            touchstone_model::Analysis::Fixed => "fixed-horizon",
        },
    );
    let plots: Vec<Vec<ForestRow>> = results
        .stages
        .iter()
        .map(|stage| forest_rows(results, stage))
        .collect();
    // One scale for every stage's plot: the same effect is the same length everywhere.
    let half = shared_half_width(plots.iter().map(Vec::as_slice));
    for ((stage_index, stage), rows) in results.stages.iter().enumerate().zip(&plots) {
        let _ = write!(
            out,
            r#"<div class="stage" data-stage="{name}"><h3>{name}{tag}</h3>"#,
            name = escape(&stage.stage),
            tag = if stage.guardrail {
                r#" <span class="badge tag-guardrail" title="A guardrail stage: a variant converting less than control with confidence triggers the experiment's guardrail action">guardrail</span>"#
            } else {
                ""
            },
        );
        out.push_str(&cuped_note(
            "stage",
            &stage.stage,
            stage
                .variants
                .iter()
                .filter_map(|v| Some((v.key.as_str(), v.vs_control.as_ref()?))),
        ));
        if rows.iter().all(|row| row.estimate.is_none()) {
            out.push_str(r#"<p class="hint">No comparison yet.</p></div>"#);
            continue;
        }
        out.push_str(&forest_on(
            &format!("forest-{stage_index}"),
            &format!("Relative effect on {}", stage.stage),
            rows,
            half,
        ));
        out.push_str(r#"<div class="table-wrap"><table class="numbers effects"><thead><tr><th scope="col">Variant</th><th scope="col">Rate</th><th scope="col">Relative effect</th><th scope="col">Confidence interval <small>(uncorrected)</small></th><th scope="col">Absolute, <abbr title="percentage points">pp</abbr> (always-valid interval, uncorrected)</th><th scope="col">p adjusted <small>(raw)</small></th><th scope="col">Verdict</th></tr></thead><tbody>"#);
        for cell in &stage.variants {
            let Some(comparison) = &cell.vs_control else {
                let _ = write!(
                    out,
                    r#"<tr class="control"><th scope="row">{} <small>(control)</small></th><td>{}</td><td colspan="5"></td></tr>"#,
                    escape(&cell.key),
                    percent(cell.rate)
                );
                continue;
            };
            let _ = write!(
                out,
                r#"<tr data-variant="{key}" data-estimate="{estimate}" data-ci-low="{low}" data-ci-high="{high}" data-significant="{significant}"><th scope="row">{key}</th><td>{rate}</td><td class="estimate">{relative}</td><td>{ci}</td><td>{absolute} {sequential}</td><td>{adjusted} <small>(raw {p})</small></td><td>{chip}</td></tr>"#,
                key = escape(&cell.key),
                estimate = data_number(comparison.relative.estimate),
                low = data_number(comparison.relative.ci.map(|ci| ci[0])),
                high = data_number(comparison.relative.ci.map(|ci| ci[1])),
                significant = comparison.significant,
                rate = percent(cell.rate),
                relative = signed_percent(comparison.relative.estimate),
                ci = interval(comparison.relative.ci, signed_percent),
                absolute = points(comparison.absolute.estimate),
                sequential = interval(comparison.sequential.ci, points),
                p = p_value(comparison.p_value),
                adjusted = p_value(comparison.adjusted_p_value),
                chip = verdict_chip(comparison, true),
            );
        }
        out.push_str("</tbody></table></div></div>");
    }
    out.push_str("</section>");
    out
}

/// "CUPED on orders_90d: −38 % variance" under a stage or metric that adjusts for a covariate
/// (the results' own words, [`touchstone_stats::analysis::cuped_note`]); empty otherwise.
fn cuped_note<'a>(
    what: &str,
    name: &str,
    comparisons: impl Iterator<Item = (&'a str, &'a Comparison)>,
) -> String {
    let comparisons: Vec<(&str, &Comparison)> = comparisons.collect();
    match touchstone_stats::analysis::cuped_note(&comparisons) {
        Some(note) => format!(
            r#"<p class="cuped-note" data-{what}="{name}" title="Regression adjustment on a pre-exposure attribute (CUPED): the effects, intervals and verdict are adjusted; the unadjusted figures are in the JSON">{note}</p>"#,
            name = escape(name),
            note = escape(&note),
        ),
        None => String::new(),
    }
}

/// Chance to beat control and expected loss for every stage: what a decision weighs. With
/// three or more variants, each arm's chance to be best of all as well (control's included).
pub fn decision(results: &Results) -> String {
    let best = results
        .stages
        .iter()
        .flat_map(|stage| &stage.variants)
        .any(|cell| cell.chance_to_be_best.is_some());
    let (best_head, best_hint) = if best {
        (
            r#"<th scope="col">Chance to be best</th>"#,
            " Chance to be best: that this arm converts best of all arms, control included.",
        )
    } else {
        ("", "")
    };
    let mut out = format!(
        r#"<section class="card" id="decision"><h2>Chance to beat control and expected loss</h2><p class="hint">Bayesian reading of the same counts. Expected loss: how much rate you give up, on average, if you ship the variant and it is in fact worse.{best_hint}</p><div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Stage</th><th scope="col">Variant</th><th scope="col">Chance to beat control</th><th scope="col">Expected loss</th>{best_head}</tr></thead><tbody>"#,
    );
    for stage in &results.stages {
        for cell in &stage.variants {
            let best_cell = if best {
                format!(
                    r#"<td class="chance-best" data-chance-best="{}">{}</td>"#,
                    data_number(cell.chance_to_be_best),
                    chance(cell.chance_to_be_best)
                )
            } else {
                String::new()
            };
            let Some(comparison) = &cell.vs_control else {
                if best {
                    let _ = write!(
                        out,
                        r#"<tr class="control" data-stage="{stage}" data-variant="{key}"><th scope="row">{stage}</th><td>{key} <small>(control)</small></td><td colspan="2"></td>{best_cell}</tr>"#,
                        stage = escape(&stage.stage),
                        key = escape(&cell.key),
                    );
                }
                continue;
            };
            let share = comparison.chance_to_beat_control;
            let colour = match share {
                Some(c) if c >= 0.95 => "#0072b2",
                Some(c) if c <= 0.05 => "#d55e00",
                _ => "#6b6b6b",
            };
            let _ = write!(
                out,
                r#"<tr data-stage="{stage}" data-variant="{key}" data-chance="{chance_raw}"><th scope="row">{stage}</th><td>{key}</td><td class="with-bar">{bar} <span>{chance}</span></td><td>{loss}</td>{best_cell}</tr>"#,
                stage = escape(&stage.stage),
                key = escape(&cell.key),
                chance_raw = data_number(share),
                bar = share_bar("chance to beat control", share, colour),
                chance = chance(share),
                loss = points(comparison.expected_loss).replace('+', ""),
            );
        }
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// A metric's mean in its unit: money in the experiment's currency, durations as `h min`,
/// conversions as a share, NPS as a score.
fn metric_value(kind: Option<MetricKind>, value: Option<f64>, currency: Option<&str>) -> String {
    match kind {
        Some(MetricKind::Sum) => money(value, currency),
        Some(MetricKind::Duration) => duration(value),
        Some(MetricKind::Conversion) => percent(value),
        Some(MetricKind::Nps) => format!("{} <small>(score)</small>", number(value)),
        Some(MetricKind::Count) => format!("{} <small>per unit</small>", number(value)),
        _ => number(value),
    }
}

/// What a metric is, in words: `revenue per unit (EUR)`.
fn metric_unit(kind: Option<MetricKind>, currency: Option<&str>) -> String {
    match kind {
        Some(MetricKind::Sum) => match currency {
            Some(code) => format!("total value per unit, {}", escape(code)),
            None => "total value per unit".into(),
        },
        Some(MetricKind::Duration) => "time to the event, units that sent it".into(),
        Some(MetricKind::Conversion) => "share of units".into(),
        Some(MetricKind::Nps) => "net promoter score, −100 to +100".into(),
        Some(MetricKind::Count) => "events per unit".into(),
        Some(MetricKind::Mean) => "mean value, units that sent it".into(),
        None => String::new(),
    }
}

/// Metrics beside the journey (revenue per unit, time to conversion, declared ones), each in
/// its unit; amounts in the experiment's `currency`.
pub fn metrics(results: &Results, currency: Option<&str>) -> String {
    if results.metrics.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<section class="card" id="metrics"><h2>Metrics</h2><div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Metric</th><th scope="col">Variant</th><th scope="col">Units</th><th scope="col">Mean</th><th scope="col">Relative effect</th><th scope="col">Confidence interval <small>(uncorrected)</small></th><th scope="col">p adjusted <small>(raw)</small></th><th scope="col">Chance to beat control</th><th scope="col">Verdict</th></tr></thead><tbody>"#,
    );
    for metric in &results.metrics {
        let higher_is_better = metric.direction == Direction::Increase;
        let note = if metric.randomized {
            ""
        } else {
            r#" <small><a href='#glossary' class="term" title="Only units that sent the event count: a descriptive comparison, not protected by randomization">(conditional)</a></small>"#
        };
        let unit = metric_unit(metric.kind, currency);
        let cuped = cuped_note(
            "metric",
            &metric.metric,
            metric
                .variants
                .iter()
                .filter_map(|v| Some((v.key.as_str(), v.vs_control.as_ref()?))),
        );
        for (row, cell) in metric.variants.iter().enumerate() {
            let _ = write!(
                out,
                r#"<tr data-metric="{m}" data-variant="{k}"><th scope="row">{m}{note}<br><small class="unit">{unit}</small>{cuped}</th><td>{k}</td><td>{units}</td><td data-mean="{raw}">{mean}</td>"#,
                cuped = if row == 0 { cuped.as_str() } else { "" },
                m = escape(&metric.metric),
                k = escape(&cell.key),
                units = count(cell.units),
                raw = data_number(cell.mean),
                mean = metric_value(metric.kind, cell.mean, currency),
            );
            match &cell.vs_control {
                None => out.push_str(r#"<td colspan="5"><small>control</small></td></tr>"#),
                Some(comparison) => {
                    let _ = write!(
                        out,
                        "<td>{}</td><td>{}</td><td>{} <small>(raw {})</small></td><td>{}</td><td>{}</td></tr>",
                        signed_percent(comparison.relative.estimate),
                        interval(comparison.relative.ci, signed_percent),
                        p_value(comparison.adjusted_p_value),
                        p_value(comparison.p_value),
                        chance(comparison.chance_to_beat_control),
                        verdict_chip(comparison, higher_is_better),
                    );
                }
            }
        }
    }
    out.push_str("</tbody></table></div></section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::{Aggregates, Experiment, ExperimentSpec};

    /// Purchase and revenue per unit adjusted for `orders_90d`; purchasers had more orders
    /// before (ρ ≈ 0.4–0.5), the treatment sells a little more.
    fn adjusted() -> (Experiment, Results) {
        let spec: ExperimentSpec = serde_json::from_value(json!({
            "key": "checkout", "touchpoint": "checkout.shipping", "status": "running",
            "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
            "journey": ["purchase"], "value_event": "purchase",
            "covariates": {"purchase": {"attribute": "orders_90d"},
                           "revenue_per_unit": {"attribute": "orders_90d"}}
        }))
        .expect("a definition");
        let experiment = Experiment::new(spec).expect("valid");
        let variant = |key: &str, reached: f64, x_of_buyers: f64| {
            let sums = |y: f64| {
                json!({"missing": 3, "sum": 4000.0, "sum_squares": 16000.0,
                                       "sum_of_products": reached * x_of_buyers * y})
            };
            json!({"key": key, "units": 2000,
                   "stages": [{"stage": "purchase", "reached": reached as u64,
                               "seconds": {"count": 0, "sum": 0.0, "sum_squares": 0.0},
                               "covariate": sums(1.0)}],
                   "metrics": [{"metric": "revenue_per_unit",
                                "moments": {"count": 2000, "sum": reached * 50.0, "sum_squares": reached * 2600.0},
                                "covariate": sums(50.0)}]})
        };
        let aggregates: Aggregates = serde_json::from_value(json!({"variants": [
            variant("control", 200.0, 4.5), variant("treatment", 240.0, 4.4)
        ]}))
        .expect("aggregates");
        let results = touchstone_stats::analyze(&experiment, &aggregates);
        (experiment, results)
    }

    #[test]
    fn the_forest_plot_and_the_notes_show_the_adjusted_comparison() {
        let (_, results) = adjusted();
        let stage = results.stages[0].variants[1]
            .vs_control
            .as_ref()
            .expect("vs");
        let cuped = stage.cuped.as_ref().expect("cuped");
        assert!(cuped.applied, "{:?}", results.warnings);
        let reduction = (cuped.variance_reduction.expect("vr") * 100.0).round();
        assert!(reduction > 5.0, "{reduction}");
        let html = stage_effects(&results);
        assert!(
            html.contains(r#"<p class="cuped-note" data-stage="purchase""#),
            "{html}"
        );
        assert!(html.contains(&format!("CUPED on orders_90d: −{reduction:.0} % variance")));
        // The plotted row is the adjusted relative effect and interval.
        let ci = stage.relative.ci.expect("ci");
        assert!(html.contains(&format!(
            r#"data-estimate="{}" data-ci-low="{}" data-ci-high="{}""#,
            data_number(stage.relative.estimate),
            data_number(Some(ci[0])),
            data_number(Some(ci[1]))
        )));
        let unadjusted = stage.unadjusted.as_ref().expect("beside");
        assert_ne!(unadjusted.relative.ci, stage.relative.ci);
        let metric_html = metrics(&results, Some("EUR"));
        assert!(metric_html.contains(r#"<p class="cuped-note" data-metric="revenue_per_unit""#));
    }

    #[test]
    fn the_decision_card_names_the_adjustment_behind_its_verdict() {
        let (experiment, results) = adjusted();
        let document = serde_json::to_value(&results).expect("serializes");
        let decision = super::super::decision_card::decide(&experiment, &document, None);
        let words = decision.interval.expect("an interval");
        assert!(words.contains("CUPED on orders_90d: −"), "{words}");
    }

    #[test]
    fn the_power_panel_plans_with_an_expected_correlation() {
        let (_, results) = adjusted();
        let n = results.power.n_per_variant.expect("a plan");
        let html = super::super::power::power_panel(&results.power, Some(0.6), Some(2));
        let expected = (n as f64 * 0.64).ceil() as u64;
        assert!(
            html.contains(&format!(
                r#"data-correlation="0.6" data-cuped-planned="{expected}""#
            )),
            "{html}"
        );
        assert!(html.contains(r#"<input type="hidden" name="phase" value="2">"#));
        let plain = super::super::power::power_panel(&results.power, None, None);
        assert!(!plain.contains("data-cuped-planned") && plain.contains(r#"name="rho""#));
    }

    fn results(arms: usize) -> Results {
        let variants: Vec<_> = [(1000, 100), (1000, 120), (1000, 90)]
            .iter()
            .take(arms)
            .enumerate()
            .map(|(i, (units, reached))| {
                json!({"key": format!("v{i}"), "units": units, "stages": {"buy": reached}})
            })
            .collect();
        touchstone_stats::analyze_input(&json!({"journey": ["buy"], "variants": variants}))
            .expect("valid input")
    }

    #[test]
    fn the_decision_table_shows_every_arms_chance_to_be_best_from_three_arms_on() {
        let three = decision(&results(3));
        assert!(three.contains("Chance to be best</th>"), "{three}");
        assert_eq!(three.matches(r#"class="chance-best""#).count(), 3);
        assert!(three.contains(
            r#"data-variant="v0"><th scope="row">buy</th><td>v0 <small>(control)</small>"#
        ));
        let two = decision(&results(2));
        assert!(!two.contains("Chance to be best"), "{two}");
        assert!(!two.contains("(control)"), "{two}");
    }
}
