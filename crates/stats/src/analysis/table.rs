//! `touchstone analyze --format table`: the results for people — aligned columns, percents,
//! one block per stage and metric.

use super::results::{Comparison, Results, Verdict};
use super::segment_table::render_segments;
use super::summary::{confidence_level, cuped_note, p_text, percent};
use touchstone_model::Analysis;

/// Aligned text tables of a `Results`, ending with the summary and warnings.
pub fn render_table(results: &Results) -> String {
    let mut out = String::new();
    let level = confidence_level(results.alpha);
    out.push_str(&format!(
        "experiment {}   control {}   alpha {}   correction {}\n",
        results.experiment.as_deref().unwrap_or("(offline)"),
        results.control,
        results.alpha,
        match results.correction {
            crate::correction::Correction::Holm => "holm",
            crate::correction::Correction::BenjaminiHochberg => "bh",
        }
    ));
    out.push_str(&format!(
        "sample ratio: chi-square {} (df {}), p = {}{}\n",
        results
            .srm
            .chi_square
            .map_or("n/a".into(), |c| format!("{c:.3}")),
        results.srm.df,
        p_text(results.srm.p_value),
        if results.srm.mismatch {
            "  MISMATCH"
        } else {
            ""
        }
    ));
    let power = &results.power;
    out.push_str(&format!(
        "power: {} per variant planned at {} (baseline {}, mde {}), {} per variant so far ({}), mde reachable now {}\n",
        power.n_per_variant.map_or("n/a".into(), |n| n.to_string()),
        power.stage.as_deref().unwrap_or("n/a"),
        opt_percent(power.baseline),
        percent(power.mde),
        power.units_per_variant,
        opt_percent(power.progress),
        opt_percent(power.mde_reachable),
    ));
    for stage in &results.stages {
        let mut rows = vec![header(
            &["variant", "units", "reached", "rate", "step", "drop-off"],
            &level,
        )];
        for v in &stage.variants {
            let mut row = vec![
                v.key.clone(),
                v.units.to_string(),
                v.reached.to_string(),
                rate_percent(v.rate),
                rate_percent(v.step_rate),
                rate_percent(v.drop_off),
            ];
            row.extend(comparison_cells(v.vs_control.as_ref(), true));
            rows.push(row);
        }
        let note = cuped_note(&comparisons(
            stage
                .variants
                .iter()
                .map(|v| (v.key.as_str(), v.vs_control.as_ref())),
        ));
        let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
        out.push_str(&format!("\nstage {}{note}\n", stage.stage));
        out.push_str(&align(&rows));
    }
    for metric in &results.metrics {
        let mut rows = vec![header(&["variant", "units", "mean"], &level)];
        for v in &metric.variants {
            let mut row = vec![
                v.key.clone(),
                v.units.to_string(),
                v.mean.map_or("n/a".into(), |m| format!("{m:.4}")),
            ];
            row.extend(comparison_cells(v.vs_control.as_ref(), false));
            rows.push(row);
        }
        let notes = [
            (metric.direction == touchstone_model::Direction::Decrease)
                .then_some("lower is better"),
            (!metric.randomized).then_some("not randomized"),
        ];
        let cuped = cuped_note(&comparisons(
            metric
                .variants
                .iter()
                .map(|v| (v.key.as_str(), v.vs_control.as_ref())),
        ));
        let notes: Vec<&str> = notes
            .into_iter()
            .flatten()
            .chain(cuped.as_deref())
            .collect();
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        out.push_str(&format!("\nmetric {}{notes}\n", metric.metric));
        out.push_str(&align(&rows));
    }
    if !results.summary.is_empty() {
        out.push_str("\nsummary\n");
        for line in &results.summary {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if !results.warnings.is_empty() {
        out.push_str("\nwarnings\n");
        for line in &results.warnings {
            out.push_str(&format!("  {line}\n"));
        }
    }
    render_segments(&mut out, &results.segments);
    out
}

/// The variants that have a comparison, for [`cuped_note`].
fn comparisons<'a>(
    variants: impl Iterator<Item = (&'a str, Option<&'a Comparison>)>,
) -> Vec<(&'a str, &'a Comparison)> {
    variants.filter_map(|(key, c)| Some((key, c?))).collect()
}

fn header(first: &[&str], level: &str) -> Vec<String> {
    let mut row: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    row.extend([
        "abs diff".to_string(),
        format!("{level} CI uncorr."),
        "rel diff".to_string(),
        format!("{level} CI uncorr."),
        "p".to_string(),
        "adj p".to_string(),
        "seq p".to_string(),
        "P(beat)".to_string(),
        "exp loss".to_string(),
        // The verdict and the interval that decided it (decision 017): the rule's test at the
        // level the correction used, so it excludes 0 exactly when the verdict is not
        // inconclusive.
        "verdict".to_string(),
        "verdict CI".to_string(),
    ]);
    row
}

fn comparison_cells(comparison: Option<&Comparison>, rates: bool) -> Vec<String> {
    let Some(c) = comparison else {
        return vec!["(control)".into()];
    };
    let absolute = |x: f64| {
        if rates {
            format!("{:+.2}pp", x * 100.0)
        } else {
            format!("{x:+.4}")
        }
    };
    let interval = |ci: Option<[f64; 2]>, f: &dyn Fn(f64) -> String| {
        ci.map_or("n/a".into(), |[lo, hi]| format!("[{}, {}]", f(lo), f(hi)))
    };
    let relative = |x: f64| format!("{:+.1}%", x * 100.0);
    vec![
        c.absolute.estimate.map_or("n/a".into(), absolute),
        interval(c.absolute.ci, &absolute),
        c.relative.estimate.map_or("n/a".into(), relative),
        interval(c.relative.ci, &relative),
        p_text(c.p_value),
        p_text(c.adjusted_p_value),
        p_text(c.sequential.p_value),
        opt_percent(c.chance_to_beat_control),
        c.expected_loss.map_or("n/a".into(), |l| format!("{l:.5}")),
        verdict_text(c),
        c.verdict_interval.as_ref().map_or("n/a".into(), |v| {
            format!(
                "{} {}",
                interval(Some(v.absolute), &absolute),
                super::verdict::level_text(v.level)
            )
        }),
    ]
}

/// "better (seq)", "inconclusive (fixed)", "waiting".
fn verdict_text(c: &Comparison) -> String {
    let rule = match c.decided_by {
        Analysis::Sequential => "seq",
        Analysis::Fixed => "fixed",
    };
    match c.verdict {
        Verdict::Better => format!("better ({rule})"),
        Verdict::Worse => format!("worse ({rule})"),
        Verdict::Inconclusive => format!("inconclusive ({rule})"),
        Verdict::Waiting => "waiting".to_string(),
    }
}

/// Rates with two decimals: 3.08% vs 3.33% must not both read 3.1%.
pub(super) fn rate_percent(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{:.2}%", x * 100.0))
}

fn opt_percent(x: Option<f64>) -> String {
    x.map_or("n/a".into(), percent)
}

/// Left-aligned first column, right-aligned numbers, two spaces between columns.
pub(super) fn align(rows: &[Vec<String>]) -> String {
    align_with(rows, |column| column == 0)
}

/// Columns for which `left` holds are left-aligned (names), the others right-aligned
/// (numbers); two spaces between columns.
pub(super) fn align_with(rows: &[Vec<String>], left: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if left(c) {
                    format!("{cell:<width$}", width = widths[c])
                } else {
                    format!("{cell:>width$}", width = widths[c])
                }
            })
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
