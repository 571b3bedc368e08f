//! Seeded A/A simulation of the guardrail checker: experiments whose two arms are identical,
//! looked at every simulated hour for 30 days exactly as the server looks (`analyze`, then
//! `guardrail_harms`). Shared by the `guardrails` test and the `guardrail_calibration` example.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, MetricAggregates, Moments, StageAggregates,
    VariantAggregates,
};
use touchstone_stats::{analyze, guardrail_harms};

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
            stage: "purchase".into(),
            reached: 0,
            seconds: Moments::default(),
        }],
        metrics: experiment
            .metrics()
            .iter()
            .map(|metric| MetricAggregates {
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
