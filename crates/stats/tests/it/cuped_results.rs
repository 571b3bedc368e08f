//! CUPED in the results document (decision 023): the sums of `tests/reference/cuped.json`
//! (gbstats 0.8.0 `RegressionAdjustedStatistic` + `compute_theta` + `TwoSidedTTest`, generated
//! by `tests/reference/generate_cuped.py`) given to `touchstone analyze` as a metric's and as a
//! stage's covariate fields give gbstats' adjusted headline to 1e-9, with the always-valid
//! interval, the verdict interval and the unadjusted figures beside it read from the same
//! numbers; and the input's field-naming errors.

use serde_json::{Value, json};
use touchstone_stats::analysis::Comparison;
use touchstone_stats::cuped::{self, CovariateMoments};
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::{analyze_input, plan};

const CASES: &str = include_str!("../reference/cuped.json");

fn close(label: &str, what: &str, actual: f64, expected: f64) {
    let tolerance = 1e-9 * expected.abs().max(1e-300) + 1e-14;
    assert!(
        (actual - expected).abs() <= tolerance,
        "{label}: {what} = {actual}, gbstats {expected}"
    );
}

fn f(value: &Value) -> f64 {
    value.as_f64().expect("a number")
}

/// The case's arms as `analyze` input: metric `y` with the covariate fields, and (for 0/1
/// outcomes) stage `converted` in its object form with the same sums.
fn input(case: &Value, binary: bool) -> Value {
    let variants: Vec<Value> = case["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            let sums = json!({
                "covariate_sum": arm["covariate_sum"],
                "covariate_sum_squares": arm["covariate_sum_squares"],
                "sum_of_products": arm["sum_of_products"],
            });
            let mut metric = json!({"count": arm["n"], "sum": arm["sum"], "sum_squares": arm["sum_squares"]});
            let mut stage = json!({"reached": f(&arm["sum"]) as u64});
            for (key, value) in sums.as_object().expect("sums") {
                metric[key] = value.clone();
                stage[key] = value.clone();
            }
            let stages = if binary {
                json!({"converted": stage})
            } else {
                json!({"converted": 0})
            };
            json!({"key": format!("arm{i}"), "units": arm["n"], "stages": stages, "metrics": {"y": metric}})
        })
        .collect();
    json!({
        "alpha": case["alpha"], "journey": ["converted"], "variants": variants,
        "covariates": {"y": "pre_y"},
    })
}

fn arm_moments(arm: &Value) -> CovariateMoments {
    CovariateMoments {
        n: arm["n"].as_u64().expect("n"),
        sum: f(&arm["sum"]),
        sum_squares: f(&arm["sum_squares"]),
        covariate_sum: f(&arm["covariate_sum"]),
        covariate_sum_squares: f(&arm["covariate_sum_squares"]),
        sum_of_products: f(&arm["sum_of_products"]),
    }
}

/// The adjusted headline of `comparison` against gbstats' `expected` comparison.
fn check(label: &str, comparison: &Comparison, expected: &Value, alpha: f64, total: u64) {
    let cuped = comparison.cuped.as_ref().expect("cuped reported");
    assert!(cuped.applied, "{label}: {cuped:?}");
    close(
        label,
        "theta",
        cuped.theta.expect("theta"),
        f(&expected["theta"]),
    );
    let absolute = &expected["absolute"];
    let estimate = comparison.absolute.estimate.expect("estimate");
    let se = comparison.absolute.standard_error.expect("se");
    close(label, "absolute", estimate, f(&absolute["estimate"]));
    close(label, "se", se, f(&absolute["standard_error"]));
    let ci = comparison.absolute.ci.expect("ci");
    close(label, "ci low", ci[0], f(&absolute["ci"][0]));
    close(label, "ci high", ci[1], f(&absolute["ci"][1]));
    close(
        label,
        "p",
        comparison.p_value.expect("p"),
        f(&absolute["p_value"]),
    );
    let relative = &expected["relative"];
    close(
        label,
        "relative",
        comparison.relative.estimate.expect("rel"),
        f(&relative["estimate"]),
    );
    close(
        label,
        "relative se",
        comparison.relative.standard_error.expect("rel se"),
        f(&relative["standard_error"]),
    );
    // The always-valid interval is the confidence sequence of the adjusted estimate.
    let sequence = confidence_sequence(estimate, se, total, alpha, 10_000.0).expect("defined");
    assert_eq!(comparison.sequential.ci, Some(sequence.ci), "{label}");
    // Beside it, the unadjusted figures — wider whenever the covariate explains something.
    let unadjusted = comparison.unadjusted.as_ref().expect("unadjusted beside");
    let reduction = cuped.variance_reduction.expect("reduction");
    let [lo, hi] = unadjusted.absolute.ci.expect("unadjusted ci");
    let ratio = (ci[1] - ci[0]) / (hi - lo);
    assert!(
        (ratio - (1.0 - reduction).sqrt()).abs() < 0.01,
        "{label}: {ratio} vs {reduction}"
    );
    // One verdict rule: the verdict interval excludes 0 exactly when `significant`.
    let interval = comparison
        .verdict_interval
        .as_ref()
        .expect("verdict interval");
    let excludes = interval.absolute[0] > 0.0 || interval.absolute[1] < 0.0;
    assert_eq!(excludes, comparison.significant, "{label}");
    if let Some([rlo, rhi]) = interval.relative {
        assert_eq!(
            rlo > 0.0 || rhi < 0.0,
            excludes,
            "{label}: relative {rlo}..{rhi}"
        );
    }
}

#[test]
fn the_results_headline_is_gbstats_regression_adjusted_test_for_metrics_and_stages() {
    let document: Value = serde_json::from_str(CASES).expect("cuped.json parses");
    let mut checked = 0;
    for case in document["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let alpha = f(&case["alpha"]);
        let binary = name.contains("binary");
        let results = analyze_input(&input(case, binary)).expect("valid input");
        let arms: Vec<&Value> = case["arms"].as_array().expect("arms").iter().collect();
        for (i, expected) in case["comparisons"]
            .as_array()
            .expect("cmp")
            .iter()
            .enumerate()
        {
            let label = format!("{name}, arm{}", i + 1);
            let total = arms[0]["n"].as_u64().unwrap_or(0) + arms[i + 1]["n"].as_u64().unwrap_or(0);
            let metric = results.metrics[0].variants[i + 1]
                .vs_control
                .as_ref()
                .expect("vs");
            if f(&expected["theta"]) == 0.0 {
                // gbstats reverts to the unadjusted test; the results say so and name the metric.
                let cuped = metric.cuped.as_ref().expect("cuped reported");
                assert!(!cuped.applied && metric.unadjusted.is_none(), "{label}");
                assert!(
                    results.warnings.iter().any(|w| w
                        .starts_with("metric y, arm1 vs arm0: CUPED on pre_y not applied")
                        && w.contains("no variance")),
                    "{label}: {:?}",
                    results.warnings
                );
                continue;
            }
            assert_eq!(
                metric.cuped.as_ref().and_then(|c| c.attribute.as_deref()),
                Some("pre_y")
            );
            check(&format!("{label} (metric)"), metric, expected, alpha, total);
            if binary {
                let stage = results.stages[0].variants[i + 1]
                    .vs_control
                    .as_ref()
                    .expect("vs");
                check(&format!("{label} (stage)"), stage, expected, alpha, total);
                assert_eq!(stage.cuped.as_ref().and_then(|c| c.attribute.clone()), None);
            }
            // The same numbers as the core, which the reference test pins separately.
            let core = cuped::compare(&arm_moments(arms[0]), &arm_moments(arms[i + 1]), alpha)
                .expect("defined");
            assert_eq!(metric.absolute.estimate, Some(core.absolute.estimate));
            checked += 1;
        }
    }
    assert!(checked >= 21, "{checked} comparisons");
}

#[test]
fn the_table_and_the_summary_name_the_adjustment() {
    let document: Value = serde_json::from_str(CASES).expect("cuped.json parses");
    let results = analyze_input(&input(&document["cases"][0], false)).expect("valid");
    let comparison = results.metrics[0].variants[1]
        .vs_control
        .as_ref()
        .expect("vs");
    let reduction = comparison
        .cuped
        .as_ref()
        .and_then(|c| c.variance_reduction)
        .expect("vr");
    let words = format!("CUPED on pre_y: −{:.0} % variance", reduction * 100.0);
    let table = touchstone_stats::render_table(&results);
    assert!(table.contains(&format!("metric y ({words})")), "{table}");
    assert!(
        results
            .summary
            .iter()
            .any(|s| s.starts_with("arm1 raises y") && s.ends_with(&words))
    );
}

fn two_arms(metric_a: Value, metric_b: Value) -> Value {
    json!({"journey": ["buy"], "variants": [
        {"key": "a", "units": 100, "stages": {"buy": 10}, "metrics": {"revenue": metric_a}},
        {"key": "b", "units": 100, "stages": {"buy": 12}, "metrics": {"revenue": metric_b}},
    ]})
}

fn moments(extra: Value) -> Value {
    let mut m = json!({"count": 100, "sum": 500.0, "sum_squares": 5000.0});
    for (k, v) in extra.as_object().expect("object") {
        m[k] = v.clone();
    }
    m
}

#[test]
fn incomplete_covariate_fields_are_refused_naming_the_field() {
    let full =
        json!({"covariate_sum": 300.0, "covariate_sum_squares": 2000.0, "sum_of_products": 2500.0});
    let cases = [
        (
            two_arms(
                moments(json!({"covariate_sum": 300.0})),
                moments(full.clone()),
            ),
            "variants[0].metrics.revenue.covariate_sum_squares",
        ),
        (
            two_arms(
                moments(json!({"covariate_sum": 300.0, "covariate_sum_squares": 2000.0})),
                moments(full.clone()),
            ),
            "variants[0].metrics.revenue.sum_of_products",
        ),
        (
            two_arms(moments(full.clone()), moments(json!({}))),
            "variants[1].metrics.revenue.covariate_sum",
        ),
        (
            two_arms(moments(json!({})), moments(full.clone())),
            "variants[1].metrics.revenue.covariate_sum",
        ),
        (
            two_arms(moments(json!({"covariate_missing": 3})), moments(json!({}))),
            "variants[0].metrics.revenue.covariate_sum",
        ),
        (
            two_arms(
                moments(
                    json!({"covariate_sum": 300.0, "covariate_sum_squares": 100.0, "sum_of_products": 1.0}),
                ),
                moments(full.clone()),
            ),
            "variants[0].metrics.revenue.covariate_sum_squares",
        ),
        (
            two_arms(
                moments(
                    json!({"covariate_sum": 300.0, "covariate_sum_squares": 2000.0, "sum_of_products": 1.0, "covariate_missing": 101}),
                ),
                moments(full.clone()),
            ),
            "variants[0].metrics.revenue.covariate_missing",
        ),
        (
            two_arms(
                moments(
                    json!({"covariate_sum": "x", "covariate_sum_squares": 2000.0, "sum_of_products": 1.0}),
                ),
                moments(full.clone()),
            ),
            "variants[0].metrics.revenue.covariate_sum",
        ),
    ];
    for (input, field) in cases {
        let error = analyze_input(&input).expect_err(field);
        assert_eq!(error.field(), field, "{error}");
    }
    let mut named_nothing = two_arms(moments(json!({})), moments(json!({})));
    named_nothing["covariates"] = json!({"revenue": "revenue_90d"});
    assert_eq!(
        analyze_input(&named_nothing).expect_err("no sums").field(),
        "covariates.revenue"
    );
    let mut stage = two_arms(moments(json!({})), moments(json!({})));
    stage["variants"][1]["stages"]["buy"] = json!({"reached": 12, "covariate_sum": 1.0});
    assert_eq!(
        analyze_input(&stage).expect_err("partial stage").field(),
        "variants[1].stages.buy.covariate_sum_squares"
    );
}

#[test]
fn a_slice_without_the_top_levels_covariate_sums_is_refused_naming_it() {
    let full =
        json!({"covariate_sum": 300.0, "covariate_sum_squares": 2000.0, "sum_of_products": 2500.0});
    let mut input = two_arms(moments(full.clone()), moments(full.clone()));
    input["segments"] = json!({"device": {"mobile": {"variants": [
        {"key": "a", "units": 100, "stages": {"buy": 10}, "metrics": {"revenue": moments(full.clone())}},
        {"key": "b", "units": 100, "stages": {"buy": 12}, "metrics": {"revenue": moments(json!({}))}},
    ]}}});
    assert_eq!(
        analyze_input(&input)
            .expect_err("slice without sums")
            .field(),
        "segments.device.mobile.variants[1].metrics.revenue.covariate_sum"
    );
}

#[test]
fn the_plan_takes_an_expected_correlation_and_names_it() {
    let base = json!({"baseline": 0.03, "mde": 0.1});
    let unadjusted = plan(&base).expect("plan")["n_per_variant"]
        .as_u64()
        .expect("n");
    let mut with_rho = base.clone();
    with_rho["correlation"] = json!(0.6);
    let planned = plan(&with_rho).expect("plan");
    assert_eq!(planned["correlation"], json!(0.6));
    assert_eq!(planned["n_per_variant_unadjusted"], json!(unadjusted));
    let expected = (unadjusted as f64 * 0.64).ceil() as u64;
    assert_eq!(planned["n_per_variant"], json!(expected));
    for bad in [json!(1.0), json!(-0.1), json!("high")] {
        with_rho["correlation"] = bad;
        assert_eq!(plan(&with_rho).expect_err("bad rho").field(), "correlation");
    }
}

#[test]
fn the_readme_example_input_is_adjusted_on_its_metric_and_its_stage() {
    let input: Value =
        serde_json::from_str(include_str!("../../examples/analyze-cuped.json")).expect("parses");
    let results = analyze_input(&input).expect("valid example");
    let stage = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("vs");
    let metric = results.metrics[0].variants[1]
        .vs_control
        .as_ref()
        .expect("vs");
    for (comparison, attribute) in [(stage, "revenue_90d"), (metric, "revenue_90d")] {
        let cuped = comparison.cuped.as_ref().expect("cuped");
        assert!(cuped.applied, "{cuped:?}");
        assert_eq!(cuped.attribute.as_deref(), Some(attribute));
        assert!(comparison.unadjusted.is_some());
    }
    assert!(
        results.warnings.iter().all(|w| !w.contains("CUPED")),
        "{:?}",
        results.warnings
    );
}
