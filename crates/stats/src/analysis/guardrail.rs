//! When a guardrail acts: the pure decision the server's checker takes on every look. A
//! variant harms a guardrail metric once both it and control have enough exposed units and
//! the always-valid (sequential) interval of its absolute effect lies wholly on the harmful
//! side of zero. The always-valid interval keeps its coverage however often it is looked at
//! (Howard et al. 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences"),
//! so a check every minute does not raise the false-stop rate above alpha.

use super::results::{MetricResult, Results};
use touchstone_model::{Direction, MetricRole};

/// One variant whose guardrail metric is worse than control's with confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Harm {
    pub variant: String,
    pub metric: String,
    /// Absolute effect (variant − control).
    pub estimate: f64,
    /// The always-valid interval of the absolute effect.
    pub interval: [f64; 2],
}

/// Whether an interval of (variant − control) lies wholly where `direction` says is worse.
pub fn wholly_harmful(interval: [f64; 2], direction: Direction) -> bool {
    match direction {
        // Higher is better: harm is an interval entirely below zero.
        Direction::Increase => interval[1] < 0.0,
        // Lower is better (errors, refunds): harm is an interval entirely above zero.
        Direction::Decrease => interval[0] > 0.0,
    }
}

/// Every (variant, guardrail metric) of `results` that is harmed, each arm holding at least
/// `min_units` exposed units. Journey stages carry no guardrail role, so only metrics count.
pub fn guardrail_harms(results: &Results, min_units: u64) -> Vec<Harm> {
    let units = |key: &str| {
        results
            .variants
            .iter()
            .find(|v| v.key == key)
            .map_or(0, |v| v.units)
    };
    if units(&results.control) < min_units {
        return Vec::new();
    }
    results
        .metrics
        .iter()
        .filter(|metric| metric.role == MetricRole::Guardrail)
        .flat_map(|metric| harms_of(metric, &results.control, min_units, &units))
        .collect()
}

fn harms_of<'a>(
    metric: &'a MetricResult,
    control: &'a str,
    min_units: u64,
    units: &'a dyn Fn(&str) -> u64,
) -> impl Iterator<Item = Harm> + 'a {
    metric.variants.iter().filter_map(move |variant| {
        if variant.key == control || units(&variant.key) < min_units {
            return None;
        }
        let comparison = variant.vs_control.as_ref()?;
        let interval = comparison.sequential.ci?;
        let estimate = comparison.absolute.estimate?;
        wholly_harmful(interval, metric.direction).then(|| Harm {
            variant: variant.key.clone(),
            metric: metric.metric.clone(),
            estimate,
            interval,
        })
    })
}

/// The sample-ratio mismatch p-value when it is below 0.001 (an alert, never a stop: it says
/// the assignment or logging is broken, not that a variant harms).
pub fn srm_alert(results: &Results) -> Option<f64> {
    results
        .srm
        .mismatch
        .then_some(results.srm.p_value)
        .flatten()
}
