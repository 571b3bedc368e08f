//! CUPED on the server's path (decision 023): an experiment that declares covariates (a
//! built-in metric through `covariates`, a declared metric through `metrics[].covariate`, a
//! journey stage) analysed from the store's aggregates with their `CovariateSums` gives the
//! numbers `touchstone analyze` gives for the same sums (so the gbstats replay of
//! `cuped_results.rs` covers it), falls back with a warning naming the metric and the reason
//! when the sums cannot be trusted, and carries the adjustment into slices (θ per slice), three
//! arms and the guardrail check.

use serde_json::{Value, json};
use touchstone_model::{
    Aggregates, CovariateSums, Experiment, ExperimentSpec, MetricAggregates, Moments,
    StageAggregates, VariantAggregates,
};
use touchstone_stats::analysis::Comparison;
use touchstone_stats::cuped::{self, CovariateMoments};
use touchstone_stats::{analyze, analyze_input, analyze_segments, guardrail_harms};

fn experiment(variants: &[&str]) -> Experiment {
    let variants: Vec<Value> = variants
        .iter()
        .map(|k| json!({"key": k, "weight": 1}))
        .collect();
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "free-shipping", "touchpoint": "checkout.shipping",
        "variants": variants,
        "journey": ["purchase"], "value_event": "purchase",
        "metrics": [{"key": "returns", "kind": "sum", "event": "return",
                     "direction": "decrease", "role": "guardrail",
                     "covariate": {"attribute": "returns_90d"}}],
        "covariates": {"revenue_per_unit": {"attribute": "revenue_90d"},
                       "purchase": {"attribute": "orders_90d"}}
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

/// A deterministic arm of `n` units: x ~ uniform-ish, y = 2 + 0.5·x + noise + `shift`,
/// purchase = 1 when y is above 6; the sums the store would hold.
struct Arm {
    n: u64,
    y: CovariateMoments,
    purchase: CovariateMoments,
}

fn arm(n: u64, shift: f64, seed: u64) -> Arm {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut y = CovariateMoments::default();
    let mut purchase = CovariateMoments::default();
    for _ in 0..n {
        let x = 10.0 * uniform();
        let value = 2.0 + 0.5 * x + 3.0 * (uniform() - 0.5) + shift;
        let bought = if value > 6.0 { 1.0 } else { 0.0 };
        for (m, v) in [(&mut y, value), (&mut purchase, bought)] {
            m.n += 1;
            m.sum += v;
            m.sum_squares += v * v;
            m.covariate_sum += x;
            m.covariate_sum_squares += x * x;
            m.sum_of_products += x * v;
        }
    }
    Arm { n, y, purchase }
}

fn sums(m: &CovariateMoments) -> CovariateSums {
    CovariateSums {
        missing: 0,
        sum: m.covariate_sum,
        sum_squares: m.covariate_sum_squares,
        sum_of_products: m.sum_of_products,
    }
}

fn moments(m: &CovariateMoments) -> Moments {
    Moments {
        count: m.n,
        sum: m.sum,
        sum_squares: m.sum_squares,
    }
}

fn aggregates(arms: &[(&str, &Arm)]) -> Aggregates {
    Aggregates {
        variants: arms
            .iter()
            .map(|(key, arm)| VariantAggregates {
                exposures_by_hour: Default::default(),
                key: (*key).into(),
                units: arm.n,
                stages: vec![StageAggregates {
                    stage: "purchase".into(),
                    reached: arm.purchase.sum as u64,
                    seconds: Moments::default(),
                    covariate: Some(sums(&arm.purchase)),
                }],
                metrics: ["returns", "revenue_per_unit"]
                    .iter()
                    .map(|metric| MetricAggregates {
                        metric: (*metric).into(),
                        moments: moments(&arm.y),
                        covariate: Some(sums(&arm.y)),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn vs(comparison: &Option<Comparison>) -> &Comparison {
    comparison.as_ref().expect("compared with control")
}

#[test]
fn a_metric_and_a_stage_are_adjusted_as_analyze_adjusts_the_same_sums() {
    let (a, b) = (arm(3_000, 0.0, 1), arm(3_000, 0.1, 2));
    let results = analyze(
        &experiment(&["control", "treatment"]),
        &aggregates(&[("control", &a), ("treatment", &b)]),
    );
    let revenue = results
        .metrics
        .iter()
        .find(|m| m.metric == "revenue_per_unit")
        .expect("built in");
    let comparison = vs(&revenue.variants[1].vs_control);
    let cuped_result = comparison.cuped.as_ref().expect("cuped");
    assert_eq!(cuped_result.attribute.as_deref(), Some("revenue_90d"));
    let core = cuped::compare(&a.y, &b.y, 0.05).expect("defined");
    assert_eq!(cuped_result.theta, Some(core.theta));
    assert_eq!(comparison.absolute.estimate, Some(core.absolute.estimate));
    assert_eq!(comparison.p_value, Some(core.absolute.p_value));
    // ρ ≈ 0.86 here: most of the variance goes.
    assert!(
        cuped_result.variance_reduction.expect("vr") > 0.6,
        "{cuped_result:?}"
    );
    let stage = vs(&results.stages[0].variants[1].vs_control);
    assert_eq!(
        stage.cuped.as_ref().and_then(|c| c.attribute.as_deref()),
        Some("orders_90d")
    );
    let core_stage = cuped::compare(&a.purchase, &b.purchase, 0.05).expect("defined");
    assert_eq!(stage.absolute.estimate, Some(core_stage.absolute.estimate));

    // The same sums through `touchstone analyze` give the same comparison.
    let field = |m: &CovariateMoments, extra: Value| {
        let mut v = json!({"covariate_sum": m.covariate_sum, "covariate_sum_squares": m.covariate_sum_squares, "sum_of_products": m.sum_of_products});
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v
    };
    let variant = |key: &str, arm: &Arm| {
        json!({"key": key, "units": arm.n,
               "stages": {"purchase": field(&arm.purchase, json!({"reached": arm.purchase.sum as u64}))},
               "metrics": {"revenue_per_unit": field(&arm.y, json!({"count": arm.n, "sum": arm.y.sum, "sum_squares": arm.y.sum_squares}))}})
    };
    let offline = analyze_input(&json!({
        "journey": ["purchase"], "variants": [variant("control", &a), variant("treatment", &b)],
        "covariates": {"revenue_per_unit": "revenue_90d", "purchase": "orders_90d"}
    }))
    .expect("valid input");
    let offline_revenue = vs(&offline.metrics[0].variants[1].vs_control);
    assert_eq!(offline_revenue.absolute, comparison.absolute);
    assert_eq!(offline_revenue.relative, comparison.relative);
    assert_eq!(offline_revenue.sequential, comparison.sequential);
    assert_eq!(offline_revenue.cuped, comparison.cuped);
    assert_eq!(
        vs(&offline.stages[0].variants[1].vs_control).absolute,
        stage.absolute
    );
}

#[test]
fn untrustworthy_sums_fall_back_to_the_unadjusted_result_with_a_warning_naming_why() {
    let (a, b) = (arm(500, 0.0, 3), arm(500, 0.2, 4));
    let experiment = experiment(&["control", "treatment"]);
    let clean = {
        let mut plain = aggregates(&[("control", &a), ("treatment", &b)]);
        for v in &mut plain.variants {
            v.metrics.iter_mut().for_each(|m| m.covariate = None);
        }
        plain
    };
    type Spoil = fn(&mut CovariateSums);
    let cases: [(&str, Spoil, &str); 4] = [
        (
            "no variance",
            |s| {
                s.sum = 0.0;
                s.sum_squares = 0.0;
                s.sum_of_products = 0.0
            },
            "no variance",
        ),
        ("impossible Σx²", |s| s.sum_squares = 1.0, "below (Σx)²/n"),
        (
            "correlation beyond 1",
            |s| s.sum_of_products *= 40.0,
            "correlation beyond ±1",
        ),
        (
            "not finite",
            |s| s.sum_of_products = f64::INFINITY,
            "not a finite number",
        ),
    ];
    for (name, spoil, reason) in cases {
        let mut spoiled = aggregates(&[("control", &a), ("treatment", &b)]);
        for v in &mut spoiled.variants {
            let revenue = v
                .metrics
                .iter_mut()
                .find(|m| m.metric == "revenue_per_unit")
                .expect("m");
            spoil(revenue.covariate.as_mut().expect("sums"));
        }
        let results = analyze(&experiment, &spoiled);
        let unadjusted = analyze(&experiment, &clean);
        let get = |r: &touchstone_stats::Results| {
            vs(&r
                .metrics
                .iter()
                .find(|m| m.metric == "revenue_per_unit")
                .expect("m")
                .variants[1]
                .vs_control)
            .clone()
        };
        let (fallback, plain) = (get(&results), get(&unadjusted));
        let cuped_result = fallback.cuped.clone().expect("cuped reported");
        assert!(
            !cuped_result.applied && fallback.unadjusted.is_none(),
            "{name}"
        );
        assert_eq!(fallback.absolute, plain.absolute, "{name}");
        assert_eq!(fallback.p_value, plain.p_value, "{name}");
        assert_eq!(fallback.verdict, plain.verdict, "{name}");
        assert!(
            results.warnings.iter().any(|w| w.starts_with(
                "metric revenue_per_unit, treatment vs control: CUPED on revenue_90d not applied"
            ) && w.contains(reason)),
            "{name}: {:?}",
            results.warnings
        );
    }
    // A single unit per arm, and sums counted for one arm only.
    let (one_a, one_b) = (arm(1, 0.0, 5), arm(1, 0.0, 6));
    let results = analyze(
        &experiment,
        &aggregates(&[("control", &one_a), ("treatment", &one_b)]),
    );
    assert!(
        results
            .warnings
            .iter()
            .any(|w| w.contains("CUPED on orders_90d not applied"))
    );
    let mut half = aggregates(&[("control", &a), ("treatment", &b)]);
    half.variants[1].stages[0].covariate = None;
    let results = analyze(&experiment, &half);
    assert!(results.warnings.iter().any(|w| {
        w.starts_with("stage purchase, treatment vs control: CUPED on orders_90d not applied")
            && w.contains("no covariate sums")
    }));
}

#[test]
fn three_arms_each_get_their_own_pooled_theta() {
    let (a, b, c) = (arm(2_000, 0.0, 7), arm(2_000, 0.1, 8), arm(2_000, -0.1, 9));
    let results = analyze(
        &experiment(&["control", "b", "c"]),
        &aggregates(&[("control", &a), ("b", &b), ("c", &c)]),
    );
    let metric = &results.metrics[0];
    for (index, variant) in [(1, &b), (2, &c)] {
        let comparison = vs(&metric.variants[index].vs_control);
        let core = cuped::compare(&a.y, &variant.y, 0.05).expect("defined");
        assert_eq!(
            comparison.cuped.as_ref().and_then(|c| c.theta),
            Some(core.theta)
        );
        assert_eq!(comparison.absolute.estimate, Some(core.absolute.estimate));
    }
}

#[test]
fn each_slice_adjusts_with_its_own_sums() {
    let experiment = experiment(&["control", "treatment"]);
    let slices: Vec<(String, Aggregates)> = [(1, 2, "mobile"), (3, 4, "desktop")]
        .iter()
        .map(|&(s1, s2, name)| {
            let (a, b) = (arm(800, 0.0, s1), arm(800, 0.2, s2));
            (
                name.to_string(),
                aggregates(&[("control", &a), ("treatment", &b)]),
            )
        })
        .collect();
    let segments = analyze_segments(&experiment, "device", &slices);
    for (value, (s1, s2)) in segments.values.iter().zip([(1, 2), (3, 4)]) {
        let (a, b) = (arm(800, 0.0, s1), arm(800, 0.2, s2));
        let theta = cuped::theta(&a.y, &b.y).expect("defined");
        let comparison = vs(&value.results.metrics[0].variants[1].vs_control);
        assert_eq!(
            comparison.cuped.as_ref().and_then(|c| c.theta),
            Some(theta),
            "{}",
            value.value
        );
    }
}

#[test]
fn the_guardrail_check_reads_the_adjusted_always_valid_interval() {
    // `returns` is a guardrail whose lower is better: the treatment raises it by 0.15 over
    // units whose spread the covariate mostly explains; only the adjusted interval sees it.
    let (a, b) = (arm(1_500, 0.0, 10), arm(1_500, 0.15, 11));
    let results = analyze(
        &experiment(&["control", "treatment"]),
        &aggregates(&[("control", &a), ("treatment", &b)]),
    );
    let returns = vs(&results
        .metrics
        .iter()
        .find(|m| m.metric == "returns")
        .expect("m")
        .variants[1]
        .vs_control);
    let unadjusted = returns.unadjusted.as_ref().expect("applied");
    let adjusted_ci = returns.sequential.ci.expect("ci");
    assert!(
        adjusted_ci[0] > 0.0,
        "adjusted always-valid interval {adjusted_ci:?}"
    );
    assert!(
        unadjusted.sequential.ci.expect("ci")[0] < 0.0,
        "{unadjusted:?}"
    );
    let harms = guardrail_harms(&results, 100);
    assert!(
        harms
            .iter()
            .any(|h| h.metric == "returns" && h.interval == adjusted_ci),
        "{harms:?}"
    );
}

#[test]
fn a_holdout_adjusts_its_stages_and_revenue_like_an_experiment() {
    let spec: touchstone_model::HoldoutSpec = serde_json::from_value(json!({
        "key": "program-2026", "share": 0.1, "touchpoints": ["*"],
        "journey": ["purchase"], "value_event": "purchase",
        "covariates": {"purchase": {"attribute": "orders_90d"},
                       "revenue_per_unit": {"attribute": "revenue_90d"}}
    }))
    .expect("holdout parses");
    let holdout = touchstone_model::Holdout::new(spec).expect("valid holdout");
    let (held, program) = (arm(1_000, 0.0, 12), arm(1_000, 0.1, 13));
    let mut aggregates = aggregates(&[("holdout", &held), ("program", &program)]);
    for variant in &mut aggregates.variants {
        variant.metrics.retain(|m| m.metric == "revenue_per_unit");
    }
    let results = analyze(holdout.experiment(), &aggregates);
    let revenue = vs(&results.metrics[0].variants[1].vs_control);
    assert_eq!(
        revenue
            .cuped
            .as_ref()
            .map(|c| (c.applied, c.attribute.as_deref())),
        Some((true, Some("revenue_90d")))
    );
    let core = cuped::compare(&held.y, &program.y, 0.05).expect("defined");
    assert_eq!(revenue.absolute.estimate, Some(core.absolute.estimate));
    let stage = vs(&results.stages[0].variants[1].vs_control);
    assert!(stage.cuped.as_ref().is_some_and(|c| c.applied));
}
