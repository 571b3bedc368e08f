//! Chance to be best (issue 17): with three or more variants, each variant's probability —
//! control's included — that its stage rate or metric mean is the best of all arms, read with
//! the metric's direction. Rates (stages, conversion metrics) from their Beta posteriors
//! ([`bayes::beta_chance_to_be_best`], bounded time at any traffic); other metrics from the
//! normal posteriors of their means ([`bayes::normal_chance_to_be_best`]). With two arms the
//! variant's chance to be best is its `chance_to_beat_control`, so nothing is added.

use super::compare::conversion_counts;
use super::results::{MetricResult, StageResult};
use super::{Design, MetricDesign};
use crate::bayes;
use crate::sample::{Counts, Sample, Undefined, finite};
use touchstone_model::{Direction, MetricKind, Moments};

/// Fills `chance_to_be_best` of every stage and metric variant when there are ≥ 3 arms; an
/// undefined one stays `null` with a warning naming the stage or metric.
pub(crate) fn fill(
    design: &Design,
    stages: &mut [StageResult],
    metrics: &mut [MetricResult],
    warnings: &mut Vec<String>,
) {
    if design.arms.len() < 3 {
        return;
    }
    for (index, stage) in stages.iter_mut().enumerate() {
        let arms: Vec<Counts> = design
            .arms
            .iter()
            .map(|arm| Counts::new(arm.units, arm.reached[index]))
            .collect();
        let chances = bayes::beta_chance_to_be_best(&arms);
        let cells = stage.variants.iter_mut().map(|v| &mut v.chance_to_be_best);
        place(chances, cells, &format!("stage {}", stage.stage), warnings);
    }
    for ((index, metric_design), metric) in design.metrics.iter().enumerate().zip(metrics) {
        let moments: Vec<Moments> = design.arms.iter().map(|arm| arm.metrics[index]).collect();
        let chances = metric_chances(metric_design, &moments);
        let cells = metric.variants.iter_mut().map(|v| &mut v.chance_to_be_best);
        place(
            chances,
            cells,
            &format!("metric {}", metric.metric),
            warnings,
        );
    }
}

fn place<'a>(
    chances: Result<Vec<f64>, Undefined>,
    cells: impl Iterator<Item = &'a mut Option<f64>>,
    label: &str,
    warnings: &mut Vec<String>,
) {
    match chances {
        Ok(chances) => {
            for (cell, chance) in cells.zip(chances) {
                *cell = finite(chance);
            }
        }
        Err(why) => warnings.push(format!(
            "{label}: the chance to be best is undefined: {why}"
        )),
    }
}

/// Beta when every arm's moments are conversions, else normal; "best" is the highest mean, or
/// the lowest for `direction: decrease` (a rate's complement, a mean's negative).
fn metric_chances(metric: &MetricDesign, moments: &[Moments]) -> Result<Vec<f64>, Undefined> {
    let decrease = metric.direction == Direction::Decrease;
    let counts: Option<Vec<Counts>> = match metric.kind {
        Some(MetricKind::Conversion) => moments.iter().map(conversion_counts).collect(),
        _ => None,
    };
    if let Some(counts) = counts {
        let oriented: Vec<Counts> = counts
            .into_iter()
            .map(|c| {
                if decrease {
                    Counts::new(c.units, c.units - c.reached)
                } else {
                    c
                }
            })
            .collect();
        return bayes::beta_chance_to_be_best(&oriented);
    }
    let samples = moments
        .iter()
        .map(|m| Sample::from_moments(m.count, m.sum, m.sum_squares))
        .map(|sample| sample.map(|s| if decrease { s.scaled(-1.0) } else { s }))
        .collect::<Result<Vec<_>, _>>()?;
    bayes::normal_chance_to_be_best(&samples)
}
