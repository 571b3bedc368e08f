//! Plain-language sentences for the results page: one per comparison, in the words a product
//! team reads ("B raises add_to_cart by 4.1% (+1.6 points, 95% CI +0.5 to +2.7 points);
//! significant"). The interval quoted is the absolute one — the interval of the very test
//! whose p-value decides "significant" — so a sentence never calls an effect significant next
//! to an interval that includes zero. (The relative interval, which also carries the control's
//! uncertainty, is in the results object and on the dashboard.)

use super::results::{Comparison, Results};
use touchstone_model::Direction;

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
                    Direction::Increase,
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
                    metric.direction,
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
    direction: Direction,
    level: &str,
    scale: Scale,
    status: Status,
) -> String {
    let absolute = comparison.absolute.estimate.map(|estimate| {
        let unit = scale.suffix();
        let ci = comparison
            .absolute
            .ci
            .map(|[lo, hi]| {
                format!(
                    ", {level} CI {} to {}{unit}",
                    scale.signed(lo),
                    scale.signed(hi)
                )
            })
            .unwrap_or_default();
        format!("{}{unit}{ci}", scale.signed(estimate))
    });
    let effect = match (comparison.relative.estimate, absolute) {
        (Some(relative), Some(absolute)) => {
            let verb = if relative >= 0.0 { "raises" } else { "lowers" };
            format!(
                "{variant} {verb} {what} by {} ({absolute})",
                percent(relative.abs())
            )
        }
        (None, Some(absolute)) => format!("{variant} changes {what} by {absolute}"),
        (Some(relative), None) => {
            let verb = if relative >= 0.0 { "raises" } else { "lowers" };
            format!("{variant} {verb} {what} by {}", percent(relative.abs()))
        }
        (None, None) => return format!("{variant}: not enough data on {what} yet"),
    };
    let verdict = if comparison.significant {
        let better = match (comparison.absolute.estimate, direction) {
            (Some(d), Direction::Increase) => d > 0.0,
            (Some(d), Direction::Decrease) => d < 0.0,
            (None, _) => false,
        };
        format!(
            "significant, {} (adjusted p = {})",
            if better { "better" } else { "worse" },
            p_text(comparison.adjusted_p_value)
        )
    } else {
        match status {
            Status::Planned(Some(progress)) if progress < 1.0 => format!(
                "not yet significant, {:.0}% of the planned sample",
                progress * 100.0
            ),
            Status::Planned(Some(_)) => "not significant with the planned sample".to_string(),
            _ => "not significant".to_string(),
        }
    };
    format!("{effect}; {verdict}")
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
