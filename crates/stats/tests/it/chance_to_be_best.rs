//! Chance to be best in the results document (issue 17): present with three or more variants,
//! summing to 1 per stage and metric, read with the metric's direction, and equal to the pair's
//! chance to beat control when the third arm is out of the race.

use serde_json::json;
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, MetricAggregates, Moments, StageAggregates,
    VariantAggregates,
};
use touchstone_stats::analysis::{MetricResult, StageResult};
use touchstone_stats::{Results, analyze};

const METRICS: [&str; 3] = ["repeat_purchase", "tickets", "basket"];

fn experiment(variants: &[&str]) -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "best-of-three", "touchpoint": "checkout.shipping",
        "variants": variants.iter().map(|key| json!({"key": key, "weight": 1})).collect::<Vec<_>>(),
        "journey": ["add_to_cart", "purchase"],
        "metrics": [
            {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2},
            {"key": "tickets", "kind": "count", "event": "support_ticket", "direction": "decrease"},
            {"key": "basket", "kind": "sum", "event": "purchase"}
        ]
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

/// One arm: units, stage counts, converters of `repeat_purchase`, and the per-unit
/// mean and variance of `tickets` and `basket`.
struct Arm {
    key: &'static str,
    units: u64,
    reached: [u64; 2],
    repeat: u64,
    tickets: (f64, f64),
    basket: (f64, f64),
}

fn moments(units: u64, (mean, variance): (f64, f64)) -> Moments {
    let n = units as f64;
    Moments {
        count: units,
        sum: n * mean,
        sum_squares: variance * (n - 1.0) + n * mean * mean,
    }
}

fn aggregates(arms: &[Arm]) -> Aggregates {
    Aggregates {
        variants: arms
            .iter()
            .map(|arm| VariantAggregates {
                exposures_by_hour: Default::default(),
                key: arm.key.into(),
                units: arm.units,
                stages: ["add_to_cart", "purchase"]
                    .iter()
                    .zip(arm.reached)
                    .map(|(stage, reached)| StageAggregates {
                        covariate: None,
                        stage: (*stage).into(),
                        reached,
                        seconds: Moments::default(),
                    })
                    .collect(),
                metrics: METRICS
                    .iter()
                    .zip([
                        Moments {
                            count: arm.units,
                            sum: arm.repeat as f64,
                            sum_squares: arm.repeat as f64,
                        },
                        moments(arm.units, arm.tickets),
                        moments(arm.units, arm.basket),
                    ])
                    .map(|(metric, moments)| MetricAggregates {
                        covariate: None,
                        metric: (*metric).into(),
                        moments,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn three_arms() -> Vec<Arm> {
    vec![
        Arm {
            key: "control",
            units: 10_000,
            reached: [3_000, 600],
            repeat: 120,
            tickets: (0.20, 0.25),
            basket: (30.0, 400.0),
        },
        Arm {
            key: "b",
            units: 10_100,
            reached: [3_150, 640],
            repeat: 135,
            tickets: (0.18, 0.22),
            basket: (30.6, 410.0),
        },
        Arm {
            key: "c",
            units: 9_900,
            reached: [3_080, 610],
            repeat: 118,
            tickets: (0.21, 0.26),
            basket: (30.3, 390.0),
        },
    ]
}

fn stage_chances(stage: &StageResult) -> Vec<f64> {
    stage
        .variants
        .iter()
        .map(|v| v.chance_to_be_best.expect("a chance for every arm"))
        .collect()
}

fn metric_chances(metric: &MetricResult) -> Vec<f64> {
    metric
        .variants
        .iter()
        .map(|v| {
            v.chance_to_be_best
                .unwrap_or_else(|| panic!("{}: no chance to be best", metric.metric))
        })
        .collect()
}

fn results(arms: &[Arm]) -> Results {
    let keys: Vec<&str> = arms.iter().map(|arm| arm.key).collect();
    analyze(&experiment(&keys), &aggregates(arms))
}

#[test]
fn with_three_arms_every_stage_and_metric_gives_chances_that_sum_to_one() {
    let results = results(&three_arms());
    for stage in &results.stages {
        let chances = stage_chances(stage);
        assert!(
            (chances.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "{}: {chances:?}",
            stage.stage
        );
    }
    // The built-in time_to_conversion has no data here (its chance is null with a warning).
    for metric in results
        .metrics
        .iter()
        .filter(|m| METRICS.contains(&&*m.metric))
    {
        let chances = metric_chances(metric);
        assert!(
            (chances.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "{}: {chances:?}",
            metric.metric
        );
    }
    assert!(results.warnings.iter().any(|w| w
        .starts_with("metric time_to_conversion: the chance to be best is undefined")));
    let json = serde_json::to_value(&results).expect("serializes");
    assert!(json["stages"][0]["variants"][0]["chance_to_be_best"].is_number());
}

#[test]
fn the_best_arm_follows_the_metrics_direction() {
    let results = results(&three_arms());
    let metric = |key: &str| {
        results
            .metrics
            .iter()
            .find(|m| m.metric == key)
            .expect("metric")
    };
    // b has the fewest tickets per unit (lower is better) and the largest basket.
    for key in ["tickets", "basket", "repeat_purchase"] {
        let chances = metric_chances(metric(key));
        let leader = chances
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .map(|(index, _)| index);
        assert_eq!(leader, Some(1), "{key}: {chances:?}");
    }
}

#[test]
fn with_a_third_arm_out_of_the_race_the_chance_to_be_best_is_the_chance_to_beat_control() {
    // Arm c is far behind everywhere (far more tickets: lower is better), so
    // P(b best) = P(b beats control) to within c's negligible chance.
    let mut arms = three_arms();
    arms[2].reached = [1_000, 100];
    arms[2].repeat = 10;
    arms[2].tickets = (0.90, 0.30);
    arms[2].basket = (10.0, 400.0);
    let results = results(&arms);
    for stage in &results.stages {
        let chances = stage_chances(stage);
        let beat = stage.variants[1]
            .vs_control
            .as_ref()
            .and_then(|c| c.chance_to_beat_control)
            .expect("chance to beat");
        assert!(chances[2] < 1e-12, "{chances:?}");
        assert!((chances[1] - beat).abs() < 1e-9, "{chances:?} vs {beat}");
    }
    for metric in results
        .metrics
        .iter()
        .filter(|m| METRICS.contains(&&*m.metric))
    {
        let chances = metric_chances(metric);
        let beat = metric.variants[1]
            .vs_control
            .as_ref()
            .and_then(|c| c.chance_to_beat_control)
            .expect("chance to beat");
        assert!(chances[2] < 1e-12, "{}: {chances:?}", metric.metric);
        assert!(
            (chances[1] - beat).abs() < 1e-9,
            "{}: {chances:?} vs {beat}",
            metric.metric
        );
    }
}

#[test]
fn with_two_arms_there_is_no_separate_chance_to_be_best() {
    let mut arms = three_arms();
    arms.truncate(2);
    let results = results(&arms);
    assert!(
        results
            .stages
            .iter()
            .flat_map(|s| &s.variants)
            .all(|v| v.chance_to_be_best.is_none())
    );
    let json = serde_json::to_value(&results).expect("serializes");
    assert!(
        json["stages"][0]["variants"][1]
            .get("chance_to_be_best")
            .is_none()
    );
}

#[test]
fn an_arm_without_units_leaves_the_chance_to_be_best_null_with_a_warning() {
    let mut arms = three_arms();
    arms[2].units = 0;
    arms[2].reached = [0, 0];
    arms[2].repeat = 0;
    let results = results(&arms);
    assert!(results.stages[0].variants[0].chance_to_be_best.is_none());
    assert!(
        results
            .warnings
            .iter()
            .any(|w| w.starts_with("stage add_to_cart: the chance to be best is undefined")),
        "{:?}",
        results.warnings
    );
}
