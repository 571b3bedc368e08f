//! When a guardrail acts: the pure decision the server's checker takes on every look. A
//! variant harms a guardrail metric — or a journey stage marked in `guardrail_stages` — once
//! both it and control have enough exposed units and the always-valid (sequential) interval of
//! its absolute effect lies wholly on the harmful side of zero. The always-valid interval keeps
//! its coverage however often it is looked at (Howard et al. 2021, "Time-uniform,
//! nonparametric, nonasymptotic confidence sequences"), so a check every minute does not raise
//! the false-stop rate above alpha. Plugin health (`plugin_health.rs`) is decided the same way.

use super::results::{Comparison, Results};
use serde::Serialize;
use touchstone_model::{Analysis, Direction, MetricRole};

/// What kind of guardrail a harm is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailKind {
    /// A metric with `role: guardrail`.
    Metric,
    /// A journey stage marked in `guardrail_stages` (its conversion from exposure).
    Stage,
    /// The built-in plugin health: the share of plugin calls that fell back.
    PluginHealth,
}

/// One variant whose guardrail is worse than control's with confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Harm {
    pub variant: String,
    /// The metric key, the stage name, or [`super::PLUGIN_FALLBACKS`].
    pub metric: String,
    pub kind: GuardrailKind,
    /// Absolute effect (variant − control).
    pub estimate: f64,
    /// The always-valid interval of the absolute effect.
    pub interval: [f64; 2],
    /// The rule that decided the harm: always `sequential` — a guardrail is checked every
    /// minute, so only the always-valid interval may stop an experiment, whatever the
    /// experiment's `analysis` rule for its verdicts (decision 017).
    pub decided_by: Analysis,
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

/// Every (variant, guardrail metric or guardrail stage) of `results` that is harmed, each arm
/// holding at least `min_units` exposed units. A stage harms when its conversion from
/// exposure is lower than control's.
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
    let enough = |key: &str| key != results.control && units(key) >= min_units;
    let metrics = results
        .metrics
        .iter()
        .filter(|metric| metric.role == MetricRole::Guardrail)
        .flat_map(|metric| {
            metric.variants.iter().filter_map(move |variant| {
                let comparison = variant
                    .vs_control
                    .as_ref()
                    .filter(|_| enough(&variant.key))?;
                harm(
                    &variant.key,
                    &metric.metric,
                    GuardrailKind::Metric,
                    comparison,
                    metric.direction,
                )
            })
        });
    let stages = results
        .stages
        .iter()
        .filter(|stage| stage.guardrail)
        .flat_map(|stage| {
            stage.variants.iter().filter_map(move |variant| {
                let comparison = variant
                    .vs_control
                    .as_ref()
                    .filter(|_| enough(&variant.key))?;
                harm(
                    &variant.key,
                    &stage.stage,
                    GuardrailKind::Stage,
                    comparison,
                    Direction::Increase,
                )
            })
        });
    metrics.chain(stages).collect()
}

fn harm(
    variant: &str,
    metric: &str,
    kind: GuardrailKind,
    comparison: &Comparison,
    direction: Direction,
) -> Option<Harm> {
    let interval = comparison.sequential.ci?;
    let estimate = comparison.absolute.estimate?;
    wholly_harmful(interval, direction).then(|| Harm {
        variant: variant.to_owned(),
        metric: metric.to_owned(),
        kind,
        estimate,
        interval,
        decided_by: Analysis::Sequential,
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
