//! Plain-language sentences for the results page: one per comparison, in the words a product
//! team reads ("B raises add_to_cart by 4.1% (+1.6 points, 95% always-valid CI +0.5 to +2.7
//! points); significant (always-valid), better"). The sentence reads the comparison's verdict
//! (decision 017) and quotes the verdict's own interval, labelled with its kind and level, so
//! it never calls an effect significant next to an interval that includes zero. The verb
//! follows the absolute difference, never the sign of a ratio.

use super::results::{Comparison, CupedResult, Results, Verdict, VerdictInterval};
use touchstone_model::{Analysis, Direction};

pub(crate) fn sentences(results: &Results) -> Vec<String> {
    let mut out = Vec::new();
    if results.srm.mismatch {
        out.push(format!(
            "Sample ratio mismatch: exposures do not fit the configured weights (p = {}); \
             fix assignment or logging before trusting any effect.",
            p_text(results.srm.p_value)
        ));
    }
    let level = confidence_level(results.alpha);
    for (index, stage) in results.stages.iter().enumerate() {
        let progress = results.power.stages.get(index).and_then(|p| p.progress);
        for variant in &stage.variants {
            if let Some(comparison) = &variant.vs_control {
                out.push(sentence(
                    &variant.key,
                    &stage.stage,
                    comparison,
                    &level,
                    Scale::Points,
                    Status::Planned(progress),
                ));
            }
        }
    }
    for metric in &results.metrics {
        for variant in &metric.variants {
            if let Some(comparison) = &variant.vs_control {
                let mut text = sentence(
                    &variant.key,
                    &metric.metric,
                    comparison,
                    &level,
                    Scale::Units,
                    Status::Unplanned,
                );
                if metric.direction == Direction::Decrease {
                    text.push_str(" (lower is better)");
                }
                if !metric.randomized {
                    text.push_str(
                        "; among units that sent the event, not protected by randomization",
                    );
                }
                out.push(text);
            }
        }
    }
    out
}

/// How an absolute difference reads: stage rates in percentage points, metrics in their units.
#[derive(Clone, Copy)]
enum Scale {
    Points,
    Units,
}

impl Scale {
    fn signed(self, x: f64) -> String {
        match self {
            Scale::Points => format!("{:+.1}", x * 100.0),
            Scale::Units if x.abs() >= 100.0 => format!("{x:+.0}"),
            Scale::Units if x.abs() >= 1.0 => format!("{x:+.2}"),
            Scale::Units => format!("{x:+.4}"),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Scale::Points => " points",
            Scale::Units => "",
        }
    }
}

enum Status {
    /// A journey stage: how much of the planned sample is in.
    Planned(Option<f64>),
    Unplanned,
}

fn sentence(
    variant: &str,
    what: &str,
    comparison: &Comparison,
    level: &str,
    scale: Scale,
    status: Status,
) -> String {
    let unit = scale.suffix();
    // The interval quoted is the verdict's own (always-valid or Welch's, at the corrected
    // level), labelled as such; before any verdict, Welch's interval at alpha.
    let interval = match &comparison.verdict_interval {
        Some(interval) => Some((
            interval.absolute,
            interval_label(comparison, interval, level),
        )),
        None => comparison.absolute.ci.map(|ci| (ci, format!("{level} CI"))),
    };
    let absolute = comparison.absolute.estimate.map(|estimate| {
        let ci = interval
            .map(|([lo, hi], label)| {
                format!(
                    ", {label} {} to {}{unit}",
                    scale.signed(lo),
                    scale.signed(hi)
                )
            })
            .unwrap_or_default();
        (estimate, format!("{}{unit}{ci}", scale.signed(estimate)))
    });
    // The verb follows the absolute difference, never the sign of a ratio: with a negative
    // control mean (profit −2.0 → −1.5) the ratio's sign is the opposite of the change.
    let effect = match (comparison.relative.estimate, absolute) {
        (Some(relative), Some((estimate, absolute))) => format!(
            "{variant} {} {what} by {} ({absolute})",
            verb(estimate),
            percent(relative.abs())
        ),
        (None, Some((estimate, absolute))) => {
            format!("{variant} {} {what} by {absolute}", verb(estimate))
        }
        (_, None) => return format!("{variant}: not enough data on {what} yet"),
    };
    let rule = match comparison.decided_by {
        Analysis::Sequential => "always-valid",
        Analysis::Fixed => "fixed-horizon",
    };
    let p = comparison
        .verdict_interval
        .as_ref()
        .and_then(|interval| interval.p_value);
    let verdict = match comparison.verdict {
        Verdict::Better | Verdict::Worse => format!(
            "significant ({rule}), {} (adjusted p = {})",
            if comparison.verdict == Verdict::Better {
                "better"
            } else {
                "worse"
            },
            p_text(p)
        ),
        Verdict::Waiting => match status {
            Status::Planned(Some(progress)) => format!(
                "no verdict yet (fixed-horizon analysis): {:.0}% of the planned sample",
                progress * 100.0
            ),
            _ => {
                "no verdict yet (fixed-horizon analysis): the planned sample is not in".to_string()
            }
        },
        Verdict::Inconclusive => match (comparison.decided_by, status) {
            (Analysis::Fixed, _) => "not significant with the planned sample".to_string(),
            (Analysis::Sequential, Status::Planned(Some(progress))) if progress < 1.0 => {
                format!(
                    "not significant yet ({rule}), {:.0}% of the planned sample",
                    progress * 100.0
                )
            }
            (Analysis::Sequential, _) => format!("not significant ({rule})"),
        },
    };
    match comparison.cuped.as_ref().and_then(cuped_words) {
        Some(cuped) => format!("{effect}; {verdict}; {cuped}"),
        None => format!("{effect}; {verdict}"),
    }
}

/// "CUPED on orders_90d: −38 % variance", or why it was not applied: the words the table, the
/// summary and the dashboard all use for one comparison's adjustment (decision 023).
pub fn cuped_words(cuped: &CupedResult) -> Option<String> {
    let on = cuped.attribute.as_deref().unwrap_or("the covariate");
    if !cuped.applied {
        return Some(format!("CUPED on {on} not applied (unadjusted figures)"));
    }
    let reduction = cuped.variance_reduction?;
    let percent = (reduction * 100.0).round();
    Some(if percent > 0.0 {
        format!("CUPED on {on}: −{percent:.0} % variance")
    } else {
        format!("CUPED on {on}: +{:.0} % variance", -percent)
    })
}

/// One note for a stage or metric from its variants' comparisons (`(variant, comparison)`),
/// e.g. "CUPED on orders_90d: −38 % variance", with each variant named when there are several;
/// `None` when nothing declares a covariate.
pub fn cuped_note(comparisons: &[(&str, &Comparison)]) -> Option<String> {
    let words: Vec<(&str, String)> = comparisons
        .iter()
        .filter_map(|(key, c)| Some((*key, c.cuped.as_ref().and_then(cuped_words)?)))
        .collect();
    match words.as_slice() {
        [] => None,
        [(_, only)] => Some(only.clone()),
        many => Some(
            many.iter()
                .map(|(key, words)| format!("{key}: {words}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

fn verb(estimate: f64) -> &'static str {
    if estimate >= 0.0 { "raises" } else { "lowers" }
}

/// "95% always-valid CI", "Holm-corrected 98.3% CI" ("adjusted" is kept for CUPED).
fn interval_label(comparison: &Comparison, interval: &VerdictInterval, level: &str) -> String {
    let kind = match comparison.decided_by {
        Analysis::Sequential => " always-valid",
        Analysis::Fixed => "",
    };
    if interval.adjusted {
        format!(
            "Holm-corrected {}{kind} CI",
            super::verdict::level_text(interval.level)
        )
    } else {
        format!("{level}{kind} CI")
    }
}

/// "95%" for alpha 0.05, "90%" for 0.1, "97.5%" for 0.025.
pub(crate) fn confidence_level(alpha: f64) -> String {
    let level = (1.0 - alpha) * 100.0;
    if (level - level.round()).abs() < 1e-9 {
        format!("{level:.0}%")
    } else {
        format!("{level:.1}%")
    }
}

pub(crate) fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub(crate) fn p_text(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.0001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
        None => "n/a".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_levels_read_as_people_write_them() {
        assert_eq!(confidence_level(0.05), "95%");
        assert_eq!(confidence_level(0.1), "90%");
        assert_eq!(confidence_level(0.025), "97.5%");
    }

    #[test]
    fn tiny_p_values_use_scientific_notation_and_missing_ones_say_so() {
        assert_eq!(p_text(Some(0.03081)), "0.0308");
        assert_eq!(p_text(Some(1.2e-7)), "1.2e-7");
        assert_eq!(p_text(None), "n/a");
    }
}
