//! Seeded simulation of results by segment with no difference between slices, shared by the
//! calibration test and the `heterogeneity_calibration` example that prints the figure. Every
//! experiment goes through the public `analyze_segments`, as the server calls it.

use super::simulation::binomial;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, StageAggregates, VariantAggregates,
};
use touchstone_stats::analyze_segments;

pub const EXPERIMENTS: usize = 1_000;
pub const ALPHA: f64 = 0.05;
/// Exposed units per experiment, both arms and every slice together.
pub const UNITS: u64 = 24_000;

/// Four device slices: (value, share of the traffic, purchase rate). The rates differ by slice,
/// as a shop's do, but the variant changes none of them: there is no effect to differ.
pub const SLICES: [(&str, f64, f64); 4] = [
    ("mobile", 0.50, 0.025),
    ("desktop", 0.30, 0.040),
    ("tablet", 0.12, 0.030),
    ("app", 0.08, 0.050),
];

fn experiment() -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "aa-by-device", "touchpoint": "checkout.payment",
        "variants": [{"key": "control", "weight": 1}, {"key": "treatment", "weight": 1}],
        "journey": ["purchase"], "segments": ["device"]
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

fn arm(key: &str, units: u64, purchased: u64) -> VariantAggregates {
    VariantAggregates {
        exposures_by_hour: Default::default(),
        key: key.into(),
        units,
        stages: vec![StageAggregates {
            covariate: None,
            stage: "purchase".into(),
            reached: purchased,
            ..StageAggregates::default()
        }],
        metrics: Vec::new(),
    }
}

/// (share of experiments whose Q test of the purchase effect has p < alpha, experiments where
/// Q was defined). Units fall into slices by a multinomial draw and into arms 50/50.
pub fn heterogeneity_false_positive_rate(seed: u64) -> (f64, usize) {
    let experiment = experiment();
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut rejected, mut defined) = (0, 0);
    for _ in 0..EXPERIMENTS {
        let (mut left, mut share_left) = (UNITS, 1.0);
        let slices: Vec<(String, Aggregates)> = SLICES
            .iter()
            .map(|&(value, share, rate)| {
                let units = binomial(&mut rng, left, (share / share_left).min(1.0));
                left -= units;
                share_left -= share;
                let control = binomial(&mut rng, units, 0.5);
                let treatment = units - control;
                let aggregates = Aggregates {
                    variants: vec![
                        arm("control", control, binomial(&mut rng, control, rate)),
                        arm("treatment", treatment, binomial(&mut rng, treatment, rate)),
                    ],
                };
                (value.to_string(), aggregates)
            })
            .collect();
        let results = analyze_segments(&experiment, "device", &slices);
        let purchase = results
            .heterogeneity
            .iter()
            .find(|h| h.stage.as_deref() == Some("purchase"))
            .expect("a Q entry for the purchase stage");
        if let Some(p) = purchase.p_value {
            defined += 1;
            rejected += usize::from(p < ALPHA);
        }
    }
    (rejected as f64 / EXPERIMENTS as f64, defined)
}
