//! Cumulative units and the headline effect over time, from the daily snapshots of the results
//! (`GET /v1/experiments/{key}/results/daily`: `{"days": [{"date": …, …results…}]}`).

use super::{Scale, open_svg, px, ticks, ticks_from_zero, variant_colour, variant_dash};
use crate::ui::format::{count, signed_percent, tick_percent};
use crate::ui::layout::escape;
use serde::Deserialize;
use std::fmt::Write;
use touchstone_stats::analysis::Effect;

#[derive(Debug, Clone, Deserialize)]
pub struct DailySnapshots {
    pub days: Vec<DailySnapshot>,
}

/// The results as they stood at the end of one day (cumulative, not that day's alone): the
/// fields of the results document the charts draw; the rest is ignored, so the page's script
/// may send only these.
#[derive(Debug, Clone, Deserialize)]
pub struct DailySnapshot {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    pub results: DayResults,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayResults {
    pub control: String,
    pub variants: Vec<DayVariant>,
    pub stages: Vec<DayStage>,
    #[serde(default)]
    pub metrics: Vec<DayMetric>,
    #[serde(default)]
    pub power: Option<DayPower>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayVariant {
    pub key: String,
    pub units: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayStage {
    pub stage: String,
    pub variants: Vec<DayStageVariant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayStageVariant {
    pub key: String,
    /// The stage's conversion rate: scales control's always-valid interval of the difference
    /// onto the relative axis.
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub vs_control: Option<DayComparison>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayMetric {
    pub metric: String,
    pub variants: Vec<DayMetricVariant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayMetricVariant {
    pub key: String,
    #[serde(default)]
    pub mean: Option<f64>,
    #[serde(default)]
    pub vs_control: Option<DayComparison>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayComparison {
    pub relative: Effect,
    /// The always-valid interval of the absolute difference.
    #[serde(default)]
    pub sequential: Option<DaySequential>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DaySequential {
    #[serde(default)]
    pub ci: Option<[f64; 2]>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DayPower {
    #[serde(default)]
    pub stage: Option<String>,
}

/// Wide enough right of the plot for end labels such as `threshold_35 +12.3 %`.
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 392.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 176.0;

/// The units chart and one effect chart per stage and metric (all on one scale), or `None`
/// when there is no day to show. The last day may be `now`: the results as they stand.
pub fn over_time(days: &[DailySnapshot]) -> Option<String> {
    let mut days: Vec<&DailySnapshot> = days.iter().collect();
    // `now` sorts after every date.
    days.sort_by(|a, b| a.date.cmp(&b.date));
    let last = days.last()?;
    let mut out = String::new();
    out.push_str(r#"<figure class="over-time">"#);
    units_chart(&mut out, &days);
    let _ = write!(
        out,
        "<figcaption>Cumulative exposed units per variant, {} to {}.</figcaption></figure>",
        escape(&day_label(&days[0].date)),
        escape(&day_label(&last.date))
    );
    // (caption, name, series per compared variant)
    let mut charts: Vec<(String, String, Vec<VariantSeries>)> = Vec::new();
    for stage in &last.results.stages {
        charts.push((
            format!("stage {}", stage.stage),
            stage.stage.clone(),
            effect_series(&days, |results, variant| {
                stage_point(results, &stage.stage, variant)
            }),
        ));
    }
    for metric in &last.results.metrics {
        charts.push((
            format!("metric {}", metric.metric),
            metric.metric.clone(),
            effect_series(&days, |results, variant| {
                metric_point(results, &metric.metric, variant)
            }),
        ));
    }
    // One scale for every effect chart, as for the forest plots.
    let half = charts
        .iter()
        .flat_map(|(_, _, all)| all.iter().flat_map(|(_, _, points)| points.iter()))
        .map(|point| point.estimate.abs())
        .fold(0.0, f64::max)
        .max(0.01)
        * 2.0;
    for (index, (what, name, all)) in charts.iter().enumerate() {
        if all.iter().all(|(_, _, points)| points.is_empty()) {
            continue;
        }
        out.push_str(r#"<figure class="over-time">"#);
        effect_chart(
            &mut out,
            &format!("effect-over-time-{index}"),
            name,
            &days,
            all,
            half,
        );
        let _ = write!(
            out,
            "<figcaption>Relative effect on <strong>{}</strong> against control, cumulative from day 0, with its always-valid interval (band); all effect charts share one scale.</figcaption></figure>",
            escape(what)
        );
    }
    Some(out)
}

/// `2026-11-23` → `23 Nov 2026`; `now` stays `now`.
fn day_label(date: &str) -> String {
    crate::ui::format::long_date(date)
}

/// One variant's point on one day for a stage: the relative effect and the always-valid
/// interval of the difference divided by control's rate.
fn stage_point(
    results: &DayResults,
    stage: &str,
    variant: &str,
) -> Option<(f64, Option<[f64; 2]>)> {
    let stage = results.stages.iter().find(|s| s.stage == stage)?;
    let base = stage
        .variants
        .iter()
        .find(|v| v.key == results.control)
        .and_then(|v| v.rate);
    let comparison = stage
        .variants
        .iter()
        .find(|v| v.key == variant)?
        .vs_control
        .as_ref()?;
    point_of(comparison, base)
}

fn metric_point(
    results: &DayResults,
    metric: &str,
    variant: &str,
) -> Option<(f64, Option<[f64; 2]>)> {
    let metric = results.metrics.iter().find(|m| m.metric == metric)?;
    let base = metric
        .variants
        .iter()
        .find(|v| v.key == results.control)
        .and_then(|v| v.mean);
    let comparison = metric
        .variants
        .iter()
        .find(|v| v.key == variant)?
        .vs_control
        .as_ref()?;
    point_of(comparison, base)
}

fn point_of(comparison: &DayComparison, base: Option<f64>) -> Option<(f64, Option<[f64; 2]>)> {
    let estimate = comparison.relative.estimate.filter(|e| e.is_finite())?;
    let band = comparison
        .sequential
        .as_ref()
        .and_then(|s| s.ci)
        .zip(base.filter(|b| b.is_finite() && *b != 0.0))
        .map(|([low, high], base)| {
            let (a, b) = (low / base.abs(), high / base.abs());
            [a.min(b), a.max(b)]
        })
        .filter(|[a, b]| a.is_finite() && b.is_finite());
    Some((estimate, band))
}

/// One compared variant's points: its index (for its colour), its key, its days.
type VariantSeries = (usize, String, Vec<EffectPoint>);

type PointOf<'a> = dyn Fn(&DayResults, &str) -> Option<(f64, Option<[f64; 2]>)> + 'a;

fn effect_series(
    days: &[&DailySnapshot],
    point: impl Fn(&DayResults, &str) -> Option<(f64, Option<[f64; 2]>)>,
) -> Vec<VariantSeries> {
    let point: &PointOf = &point;
    let last = &days[days.len() - 1].results;
    last.variants
        .iter()
        .enumerate()
        .filter(|(_, v)| v.key != last.control)
        .map(|(index, v)| {
            let points = days
                .iter()
                .enumerate()
                .filter_map(|(day, snapshot)| {
                    let (estimate, ci) = point(&snapshot.results, &v.key)?;
                    Some(EffectPoint { day, estimate, ci })
                })
                .collect();
            (index, v.key.clone(), points)
        })
        .collect()
}

fn x_scale(days: usize) -> Scale {
    Scale {
        domain: (0.0, days.saturating_sub(1) as f64),
        range: (LEFT, RIGHT),
    }
}

fn date_ticks(out: &mut String, days: &[&DailySnapshot], x: &Scale) {
    let mut shown = vec![0, days.len() - 1];
    if days.len() > 4 {
        shown.insert(1, (days.len() - 1) / 2);
    }
    shown.dedup();
    for index in shown {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            px(x.at(index as f64)),
            px(BOTTOM + 16.0),
            escape(&day_label(&days[index].date)),
        );
    }
}

fn y_grid(out: &mut String, y: &Scale, values: &[f64], label: fn(f64) -> String) {
    for value in values {
        let at = px(y.at(*value));
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{at}" x2="{RIGHT}" y2="{at}" stroke="#e3e3e3"/><text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"##,
            px(LEFT - 6.0),
            px(y.at(*value) + 4.0),
            label(*value),
        );
    }
}

/// A polyline with a dot on every day (one day is then still a visible mark).
fn series(out: &mut String, points: &[(f64, f64)], index: usize, class: &str) {
    let colour = variant_colour(index);
    let path: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{},{}", px(*x), px(*y)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="{class}" points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{}"/>"#,
        path.join(" "),
        variant_dash(index),
    );
    for (x, y) in points {
        let _ = write!(
            out,
            r#"<circle cx="{}" cy="{}" r="2.5" fill="{colour}"/>"#,
            px(*x),
            px(*y)
        );
    }
}

fn units_chart(out: &mut String, days: &[&DailySnapshot]) {
    let last = &days[days.len() - 1].results;
    let max = days
        .iter()
        .flat_map(|day| day.results.variants.iter().map(|v| v.units))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let grid = ticks_from_zero(max, 4);
    let top = grid.last().copied().unwrap_or(max).max(max);
    let x = x_scale(days.len());
    let y = Scale {
        domain: (0.0, top),
        range: (BOTTOM, TOP),
    };
    let description = last
        .variants
        .iter()
        .map(|v| format!("{}: {} units", v.key, count(v.units)))
        .collect::<Vec<_>>()
        .join("; ");
    open_svg(
        out,
        "units-over-time",
        WIDTH,
        HEIGHT,
        "Cumulative units over time",
        &description,
    );
    y_grid(out, &y, &grid, |value| count(value.round() as u64));
    date_ticks(out, days, &x);
    let mut labels = Vec::new();
    for (index, variant) in last.variants.iter().enumerate() {
        let points: Vec<(f64, f64)> = days
            .iter()
            .enumerate()
            .filter_map(|(day, snapshot)| {
                let units = snapshot
                    .results
                    .variants
                    .iter()
                    .find(|v| v.key == variant.key)?
                    .units;
                Some((x.at(day as f64), y.at(units as f64)))
            })
            .collect();
        series(out, &points, index, "units-line");
        if let Some((px_x, px_y)) = points.last() {
            labels.push(EndLabel {
                x: *px_x,
                y: *px_y,
                text: format!("{} {}", variant.key, count(variant.units)),
            });
        }
    }
    end_labels(out, labels);
    out.push_str("</svg>");
}

/// A label at the end of a line, naming the variant and its last value (so no legend, and no
/// colour, is needed to tell the lines apart).
struct EndLabel {
    x: f64,
    y: f64,
    text: String,
}

/// Writes the labels top to bottom, each at least a line below the one above, so lines that
/// end close together keep readable labels.
fn end_labels(out: &mut String, mut labels: Vec<EndLabel>) {
    const LINE: f64 = 13.0;
    labels.sort_by(|a, b| a.y.total_cmp(&b.y));
    let mut floor = f64::NEG_INFINITY;
    for label in labels {
        let y = label.y.max(floor + LINE);
        floor = y;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" class="note">{}</text>"#,
            px(label.x + 6.0),
            px(y + 4.0),
            escape(&label.text)
        );
    }
}

/// One variant's relative effect on one day.
struct EffectPoint {
    day: usize,
    estimate: f64,
    ci: Option<[f64; 2]>,
}

fn effect_chart(
    out: &mut String,
    id: &str,
    name: &str,
    days: &[&DailySnapshot],
    all: &[VariantSeries],
    half: f64,
) {
    let x = x_scale(days.len());
    let y = Scale {
        domain: (-half, half),
        range: (BOTTOM, TOP),
    };
    let description = all
        .iter()
        .filter_map(|(_, key, points)| {
            points.last().map(|point| {
                format!(
                    "{key}: {} on the last day",
                    signed_percent(Some(point.estimate))
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ");
    open_svg(
        out,
        id,
        WIDTH,
        HEIGHT,
        &format!("Effect on {name} over time"),
        &description,
    );
    y_grid(out, &y, &ticks(-half, half, 4), tick_percent);
    date_ticks(out, days, &x);
    let zero = px(y.at(0.0));
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{zero}" x2="{RIGHT}" y2="{zero}" stroke="#333" stroke-width="1.5"/>"##
    );
    let mut labels = Vec::new();
    for (index, key, points) in all {
        // An early always-valid interval is far wider than the effects: it is cut at the
        // chart's edge rather than squeezing every line flat.
        let clamp = |value: f64| value.clamp(-half, half);
        let band: Vec<(f64, f64, f64)> = points
            .iter()
            .filter_map(|point| {
                point
                    .ci
                    .map(|[a, b]| (x.at(point.day as f64), y.at(clamp(a)), y.at(clamp(b))))
            })
            .collect();
        if let [(px_x, low, high)] = band.as_slice() {
            // One day: the interval as a whisker.
            let _ = write!(
                out,
                r#"<line class="ci-whisker" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{}" stroke-width="5" stroke-opacity="0.35"/>"#,
                px(*low),
                px(*high),
                variant_colour(*index),
                x = px(*px_x),
            );
        }
        if band.len() > 1 {
            let upper = band
                .iter()
                .map(|(px_x, _, hi)| format!("{},{}", px(*px_x), px(*hi)));
            let lower = band
                .iter()
                .rev()
                .map(|(px_x, lo, _)| format!("{},{}", px(*px_x), px(*lo)));
            let _ = write!(
                out,
                r#"<polygon class="ci-band" points="{}" fill="{}" fill-opacity="0.15"/>"#,
                upper.chain(lower).collect::<Vec<_>>().join(" "),
                variant_colour(*index),
            );
        }
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|point| (x.at(point.day as f64), y.at(point.estimate)))
            .collect();
        series(out, &line, *index, "effect-line");
        if let (Some((px_x, px_y)), Some(point)) = (line.last(), points.last()) {
            labels.push(EndLabel {
                x: *px_x,
                y: *px_y,
                text: format!("{key} {}", signed_percent(Some(point.estimate))),
            });
        }
    }
    end_labels(out, labels);
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A day of results as the daily endpoint sends it (a cut-down but complete document).
    fn day(date: &str, control_units: u64, treatment_units: u64, effect: f64) -> serde_json::Value {
        let stage_variant = |key: &str, units: u64, vs: Option<serde_json::Value>| {
            let mut value = json!({"key": key, "units": units, "reached": units / 10, "rate": 0.1,
                "step_rate": 0.1, "drop_off": 0.9});
            if let Some(vs) = vs {
                value["vs_control"] = vs;
            }
            value
        };
        let comparison = json!({
            "absolute": {"estimate": 0.01, "ci": [0.0, 0.02], "standard_error": 0.005},
            "relative": {"estimate": effect, "ci": [effect - 0.05, effect + 0.05], "standard_error": 0.025},
            "p_value": 0.04, "adjusted_p_value": 0.04, "significant": true,
            "sequential": {"ci": [-0.01, 0.03], "p_value": 0.2},
            "chance_to_beat_control": 0.97, "expected_loss": 0.0001
        });
        json!({
            "date": date,
            "experiment": "checkout", "control": "control", "alpha": 0.05, "correction": "holm",
            "sequential_tuning": 10000.0,
            "variants": [
                {"key": "control", "weight": 0.5, "units": control_units},
                {"key": "treatment", "weight": 0.5, "units": treatment_units}
            ],
            "stages": [{"stage": "purchase", "variants": [
                stage_variant("control", control_units, None),
                stage_variant("treatment", treatment_units, Some(comparison))
            ]}],
            "metrics": [],
            "srm": {"chi_square": 0.1, "df": 1, "p_value": 0.7, "mismatch": false},
            "power": {"alpha": 0.05, "power": 0.8, "mde": 0.05, "units_per_variant": control_units,
                "stage": "purchase", "baseline": 0.1, "n_per_variant": 50000, "progress": 0.01,
                "mde_reachable": 0.3, "stages": []},
            "summary": [], "warnings": []
        })
    }

    fn snapshots(days: Vec<serde_json::Value>) -> DailySnapshots {
        serde_json::from_value(json!({ "days": days })).expect("the daily document decodes")
    }

    #[test]
    fn no_days_means_no_chart() {
        assert_eq!(over_time(&snapshots(vec![]).days), None);
    }

    #[test]
    fn days_are_drawn_in_date_order_with_their_cumulative_units() {
        let daily = snapshots(vec![
            day("2026-11-24", 400, 420, 0.10),
            day("2026-11-23", 200, 190, 0.05),
        ]);
        let html = over_time(&daily.days).expect("a chart");
        // Units axis 0..600 (ticks of 200, the first round number above 420) onto 176..10;
        // days onto 52..392.
        let y = |units: f64| px(176.0 - units / 600.0 * 166.0);
        let treatment = format!(
            r#"class="units-line" points="52,{} 392,{}""#,
            y(190.0),
            y(420.0)
        );
        assert!(html.contains(&treatment), "{html}");
        assert!(html.contains("treatment 420"));
        assert!(html.contains(">23 Nov 2026<") && html.contains(">24 Nov 2026<"));
        assert!(html.contains("23 Nov 2026 to 24 Nov 2026"));
    }

    #[test]
    fn the_effect_line_has_the_always_valid_band_cut_at_the_shared_scale() {
        let daily = snapshots(vec![
            day("2026-11-23", 200, 190, 0.05),
            day("now", 400, 420, 0.10),
        ]);
        let html = over_time(&daily.days).expect("a chart");
        // Effect axis ±2 × 0.10 onto 176..10. The always-valid interval of the difference,
        // [−0.01, 0.03], over control's rate 0.1 is [−0.1, 0.3], cut at +0.2.
        let y = |effect: f64| px(176.0 - (effect + 0.2) / 0.4 * 166.0);
        assert!(
            html.contains(&format!(
                r#"class="effect-line" points="52,{} 392,{}""#,
                y(0.05),
                y(0.10)
            )),
            "{html}"
        );
        assert!(html.contains(&format!(
            r#"class="ci-band" points="52,{} 392,{} 392,{} 52,{}""#,
            y(0.2),
            y(0.2),
            y(-0.1),
            y(-0.1)
        )));
        assert!(html.contains("treatment +10.0\u{202f}%"));
        assert!(html.contains("Effect on purchase over time"));
        assert!(html.contains(">now<"), "the last point is now");
        assert!(html.contains(r#"id="effect-over-time-0""#));
    }

    /// The real results document, as the stats engine writes it, decodes as a day.
    #[test]
    fn a_day_of_real_results_decodes() {
        let spec: touchstone_model::ExperimentSpec = serde_json::from_value(json!({
            "key": "checkout", "touchpoint": "checkout.shipping",
            "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
            "journey": ["add_to_cart", "purchase"]
        }))
        .expect("a definition");
        let experiment = touchstone_model::Experiment::new(spec).expect("valid");
        let aggregates: touchstone_model::Aggregates = serde_json::from_value(json!({"variants": [
            {"key": "control", "units": 1000, "stages": [
                {"stage": "add_to_cart", "reached": 300, "seconds": {"count": 300, "sum": 3000.0, "sum_squares": 40000.0}},
                {"stage": "purchase", "reached": 100, "seconds": {"count": 100, "sum": 2000.0, "sum_squares": 50000.0}}],
                "metrics": []},
            {"key": "treatment", "units": 1010, "stages": [
                {"stage": "add_to_cart", "reached": 340, "seconds": {"count": 340, "sum": 3400.0, "sum_squares": 45000.0}},
                {"stage": "purchase", "reached": 130, "seconds": {"count": 130, "sum": 2600.0, "sum_squares": 65000.0}}],
                "metrics": []}
        ]}))
        .expect("aggregates");
        let results = touchstone_stats::analyze(&experiment, &aggregates);
        let mut value = serde_json::to_value(&results).expect("results serialize");
        value["date"] = json!("2026-11-23");
        let expected = results.stages[1].variants[1]
            .vs_control
            .as_ref()
            .and_then(|c| c.relative.estimate)
            .expect("an estimate");
        let daily = snapshots(vec![value]);
        let html = over_time(&daily.days).expect("a chart");
        assert!(html.contains(&format!("treatment {}", signed_percent(Some(expected)))));
        assert!(html.contains("treatment 1,010"));
    }

    #[test]
    fn a_single_day_still_shows_a_mark_and_its_interval() {
        let daily = snapshots(vec![day("2026-11-23", 200, 190, 0.05)]);
        let html = over_time(&daily.days).expect("a chart");
        assert!(html.contains("<circle"));
        // Effect axis ±2 × 0.05; the one day sits mid-axis at x = 222, its band cut at the axis.
        let y = |effect: f64| px(176.0 - (effect + 0.1) / 0.2 * 166.0);
        assert!(
            html.contains(&format!(
                r#"class="ci-whisker" x1="222" y1="{}" x2="222" y2="{}""#,
                y(-0.1),
                y(0.1)
            )),
            "{html}"
        );
    }

    #[test]
    fn labels_of_lines_that_end_together_do_not_overlap() {
        let mut out = String::new();
        let label = |y: f64, text: &str| EndLabel {
            x: 100.0,
            y,
            text: text.into(),
        };
        end_labels(
            &mut out,
            vec![label(50.0, "b"), label(48.0, "a"), label(120.0, "c")],
        );
        assert_eq!(
            out,
            r#"<text x="106" y="52" class="note">a</text><text x="106" y="65" class="note">b</text><text x="106" y="124" class="note">c</text>"#
        );
    }
}
