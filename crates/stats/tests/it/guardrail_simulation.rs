//! Seeded A/A simulation of the guardrail checker: experiments whose two arms are identical,
//! looked at every simulated hour for 30 days exactly as the server looks (`analyze`, then
//! `guardrail_harms`; `plugin_health`, then `plugin_health_harms`), for a guardrail metric, a
//! guardrail stage and plugin health. Shared by the `guardrails` test and the `guardrail_calibration` example.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, MetricAggregates, Moments, PluginCalls,
    StageAggregates, VariantAggregates,
};
use touchstone_stats::{analyze, guardrail_harms, plugin_health, plugin_health_harms};

pub const EXPERIMENTS: usize = 500;
pub const LOOKS: usize = 30 * 24;
/// Units arriving per simulated hour (split between the arms by a fair coin).
pub const UNITS_PER_HOUR: usize = 60;
pub const MIN_UNITS: u64 = 200;
pub const ALPHA: f64 = 0.05;

/// A shop's checkout with `checkout_error` as a `count` guardrail (lower is better).
pub fn experiment() -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
        "key": "aa-guardrail", "touchpoint": "checkout.shipping",
        "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
        "journey": ["purchase"],
        "metrics": [{"key": "checkout_error", "kind": "count", "event": "checkout_error",
                     "direction": "decrease", "role": "guardrail"}]
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

/// One unit's errors in its window: none (95%), one (4%), two (1%) — skewed, like errors.
fn errors(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random();
    if u < 0.01 {
        2.0
    } else if u < 0.05 {
        1.0
    } else {
        0.0
    }
}

/// One arm of the guardrail experiment whose `checkout_error` metric has `errors` moments.
pub fn arm(experiment: &Experiment, key: &str, units: u64, errors: Moments) -> VariantAggregates {
    VariantAggregates {
        exposures_by_hour: Default::default(),
        key: key.into(),
        units,
        stages: vec![StageAggregates {
            covariate: None,
            stage: "purchase".into(),
            reached: 0,
            seconds: Moments::default(),
        }],
        metrics: experiment
            .metrics()
            .iter()
            .map(|metric| MetricAggregates {
                covariate: None,
                metric: metric.key.clone(),
                moments: if metric.key == "checkout_error" {
                    errors
                } else {
                    Moments::default()
                },
            })
            .collect(),
    }
}

/// Whether one A/A experiment is ever stopped in `LOOKS` hourly looks.
fn falsely_stopped(experiment: &Experiment, rng: &mut StdRng) -> bool {
    let mut units = [0_u64; 2];
    let mut moments = [Moments::default(); 2];
    for _ in 0..LOOKS {
        for _ in 0..UNITS_PER_HOUR {
            let side = usize::from(rng.random::<bool>());
            let value = errors(rng);
            units[side] += 1;
            moments[side].count += 1;
            moments[side].sum += value;
            moments[side].sum_squares += value * value;
        }
        let aggregates = Aggregates {
            variants: vec![
                arm(experiment, "control", units[0], moments[0]),
                arm(experiment, "treatment", units[1], moments[1]),
            ],
        };
        if !guardrail_harms(&analyze(experiment, &aggregates), MIN_UNITS).is_empty() {
            return true;
        }
    }
    false
}

/// Share of `EXPERIMENTS` A/A experiments stopped at some hourly look.
pub fn false_stop_rate(seed: u64) -> f64 {
    let experiment = experiment();
    let mut rng = StdRng::seed_from_u64(seed);
    let stopped = (0..EXPERIMENTS)
        .filter(|_| falsely_stopped(&experiment, &mut rng))
        .count();
    stopped as f64 / EXPERIMENTS as f64
}

/// A shop's checkout whose `purchase` stage is marked as a guardrail, and nothing else.
#[allow(
    dead_code,
    reason = "the guardrails tests use it; the calibration example does not"
)]
pub fn stage_experiment() -> Experiment {
    stage_experiment_with(&["begin_checkout", "purchase"])
}

/// `journey` with its `purchase` stage marked as a guardrail.
fn stage_experiment_with(journey: &[&str]) -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
        "key": "aa-stage-guardrail", "touchpoint": "checkout.shipping",
        "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
        "journey": journey,
        "guardrail_stages": ["purchase"]
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

pub fn stage_arm(
    experiment: &Experiment,
    key: &str,
    units: u64,
    purchased: u64,
) -> VariantAggregates {
    VariantAggregates {
        exposures_by_hour: Default::default(),
        key: key.into(),
        units,
        stages: experiment
            .journey()
            .iter()
            .map(|stage| StageAggregates {
                covariate: None,
                stage: stage.clone(),
                reached: purchased,
                seconds: Moments::default(),
            })
            .collect(),
        metrics: Vec::new(),
    }
}

/// Share of A/A experiments (10% of units purchase in both arms) whose `purchase` guardrail
/// stage ever stops them at an hourly look.
pub fn stage_false_stop_rate(seed: u64, experiments: usize) -> f64 {
    // One stage: every look analyses it in full (exact Bayesian sums), and a second unmarked
    // stage would only double the time.
    let experiment = stage_experiment_with(&["purchase"]);
    let mut rng = StdRng::seed_from_u64(seed);
    let stopped = (0..experiments)
        .filter(|_| {
            let (mut units, mut purchased) = ([0_u64; 2], [0_u64; 2]);
            (0..LOOKS).any(|_| {
                for _ in 0..UNITS_PER_HOUR {
                    let side = usize::from(rng.random::<bool>());
                    units[side] += 1;
                    purchased[side] += u64::from(rng.random::<f64>() < 0.10);
                }
                let aggregates = Aggregates {
                    variants: vec![
                        stage_arm(&experiment, "control", units[0], purchased[0]),
                        stage_arm(&experiment, "treatment", units[1], purchased[1]),
                    ],
                };
                !guardrail_harms(&analyze(&experiment, &aggregates), MIN_UNITS).is_empty()
            })
        })
        .count();
    stopped as f64 / EXPERIMENTS as f64
}

/// Share of A/A experiments whose plugin falls back on `share` of the calls of both arms
/// (60 calls an hour, split by a fair coin) that the plugin-health guardrail ever stops at an
/// hourly look, once each arm has `MIN_UNITS` calls.
pub fn plugin_false_stop_rate(seed: u64, share: f64) -> f64 {
    let experiment = experiment();
    let mut rng = StdRng::seed_from_u64(seed);
    let stopped = (0..EXPERIMENTS)
        .filter(|_| {
            let mut calls = [PluginCalls::default(); 2];
            (0..LOOKS).any(|_| {
                for _ in 0..UNITS_PER_HOUR {
                    let side = usize::from(rng.random::<bool>());
                    calls[side].calls += 1;
                    calls[side].fallbacks += u64::from(rng.random::<f64>() < share);
                }
                let health = plugin_health(&experiment, &calls);
                !plugin_health_harms(&health, "control", MIN_UNITS).is_empty()
            })
        })
        .count();
    stopped as f64 / EXPERIMENTS as f64
}
