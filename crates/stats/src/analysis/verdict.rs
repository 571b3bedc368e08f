//! One verdict per comparison (decision 017). The experiment's `analysis` rule picks the test —
//! `sequential`: the always-valid confidence sequence at every look; `fixed`: nothing before
//! the planned sample is in, then Welch's test — the experiment's correction adjusts that
//! test's p-values across the family, and the interval shown beside the verdict is the same
//! test's interval at the level the correction used for this comparison, α' = α·p/p_adj: the
//! raw test rejects at α' exactly when the adjusted p-value is below α. So the verdict, the
//! p-value and both intervals (absolute, and relative by Fieller's inversion of the same
//! statistic) can never disagree.

use super::results::{Comparison, Verdict, VerdictInterval};
use crate::correction::Correction;
use crate::ratio::{fieller_difference_ratio, fieller_relative};
use crate::sample::{Undefined, finite};
use crate::sequential::confidence_sequence_at;
use crate::welch::t_quantile;
use touchstone_model::{Analysis, Direction};

/// Adjusts one family (`(alpha, comparison)` pairs) with `correction` and gives each
/// comparison its adjusted Welch p-value, its rule's significance, verdict and interval.
pub(crate) fn decide_family(correction: Correction, family: Vec<(f64, &mut Comparison)>) {
    let mut family = family;
    let welch: Vec<Option<f64>> = family.iter().map(|(_, c)| c.p_value).collect();
    let rule: Vec<Option<f64>> = family.iter().map(|(_, c)| rule_p_value(c)).collect();
    let welch_adjusted = correction.adjust(&welch);
    let rule_adjusted = correction.adjust(&rule);
    for (((alpha, comparison), welch_adjusted), (raw, adjusted)) in family
        .iter_mut()
        .zip(welch_adjusted)
        .zip(rule.into_iter().zip(rule_adjusted))
    {
        comparison.adjusted_p_value = welch_adjusted.and_then(finite);
        decide(comparison, *alpha, raw, adjusted, correction);
    }
}

/// The p-value of the comparison's rule, before correction.
fn rule_p_value(comparison: &Comparison) -> Option<f64> {
    match comparison.decided_by {
        Analysis::Sequential => comparison.sequential.p_value,
        Analysis::Fixed => comparison.p_value,
    }
}

fn decide(
    comparison: &mut Comparison,
    alpha: f64,
    raw: Option<f64>,
    adjusted: Option<f64>,
    correction: Correction,
) {
    comparison.significant = false;
    comparison.verdict = Verdict::Inconclusive;
    comparison.verdict_interval = None;
    let Some(basis) = comparison.basis.0 else {
        return;
    };
    if basis.waiting {
        // No verdict, so no interval "that produced" one: Welch's interval stays in `absolute`.
        comparison.verdict = Verdict::Waiting;
        return;
    }
    let (Some(raw), Some(adjusted)) = (raw, adjusted) else {
        return;
    };
    let significant = adjusted < alpha;
    // α' = α·p/p_adj: the raw test rejects at α' exactly when p_adj < α.
    // The ratio first: p-values near f64's smallest (4e-323) would make α·p underflow to 0.
    let (level_alpha, lowered) = if adjusted > raw && raw > 0.0 {
        (alpha * (raw / adjusted), true)
    } else {
        (alpha, false)
    };
    let interval = interval_at(comparison, level_alpha);
    let Ok((absolute, relative)) = interval else {
        // No interval to show beside it, so no verdict either: never "significant" without
        // the interval that says so.
        return;
    };
    comparison.significant = significant;
    comparison.verdict = match (significant, absolute_is_better(comparison, basis.direction)) {
        (false, _) => Verdict::Inconclusive,
        (true, Some(true)) => Verdict::Better,
        (true, Some(false)) => Verdict::Worse,
        (true, None) => Verdict::Inconclusive,
    };
    let mut notes = Vec::new();
    if lowered {
        notes.push(format!(
            "{} adjusted: the {} interval, the level at which this comparison's own test decides as its adjusted p-value does",
            correction_name(correction),
            level_text(1.0 - level_alpha)
        ));
    }
    if let Err(why) = relative {
        notes.push(format!("no relative interval: {why}"));
    }
    comparison.verdict_interval = Some(VerdictInterval {
        absolute,
        relative: relative.ok(),
        level: 1.0 - level_alpha,
        adjusted: lowered,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        p_value: finite(adjusted),
    });
}

type Intervals = ([f64; 2], Result<[f64; 2], Undefined>);

/// The rule's absolute interval at level 1 − `level_alpha`, and Fieller's relative interval
/// with the same critical value.
fn interval_at(comparison: &Comparison, level_alpha: f64) -> Result<Intervals, Undefined> {
    let basis = comparison.basis.0.ok_or(Undefined::NotFinite)?;
    let (a, b) = (basis.control, basis.variant);
    let estimate = b.mean - a.mean;
    let standard_error = (a.mean_variance() + b.mean_variance()).sqrt();
    let (absolute, q) = match comparison.decided_by {
        Analysis::Fixed => {
            let q = t_quantile(basis.df, 1.0 - level_alpha / 2.0)?;
            let half = q * standard_error;
            ([estimate - half, estimate + half], q)
        }
        Analysis::Sequential => {
            let test = confidence_sequence_at(
                estimate,
                standard_error,
                basis.total_units,
                level_alpha,
                basis.rho2,
            )?;
            (test.ci, test.half_width / standard_error)
        }
    };
    if !(absolute.iter().all(|x| x.is_finite()) && absolute[0] < absolute[1]) {
        return Err(Undefined::NotFinite);
    }
    let relative = match basis.relative_base {
        // CUPED: the adjusted difference over control's observed mean (decision 023).
        Some(base) => fieller_difference_ratio(
            estimate,
            standard_error * standard_error,
            base.mean,
            base.mean_variance,
            base.covariance_with_difference,
            q,
        ),
        None => fieller_relative(a.mean, a.mean_variance(), b.mean, b.mean_variance(), q),
    };
    Ok((absolute, relative))
}

/// Whether the absolute difference goes the direction's good way (never a ratio's sign).
fn absolute_is_better(comparison: &Comparison, direction: Direction) -> Option<bool> {
    let estimate = comparison.absolute.estimate?;
    Some(match direction {
        Direction::Increase => estimate > 0.0,
        Direction::Decrease => estimate < 0.0,
    })
}

fn correction_name(correction: Correction) -> &'static str {
    match correction {
        Correction::Holm => "Holm",
        Correction::BenjaminiHochberg => "Benjamini–Hochberg",
    }
}

/// "98.3%" for 0.98333.
pub(crate) fn level_text(level: f64) -> String {
    let percent = level * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        format!("{percent:.0}%")
    } else if percent < 99.9 {
        format!("{percent:.1}%")
    } else {
        format!("{percent:.3}%")
    }
}
