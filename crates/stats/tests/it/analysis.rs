//! The results object: shape, corrections, guard rails, offline input and its errors.

use serde_json::{Value, json};
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, MetricAggregates, Moments, StageAggregates,
    VariantAggregates,
};
use touchstone_stats::{InputError, Results, analyze, analyze_input, plan, render_table};

fn example() -> Value {
    serde_json::from_str(include_str!("../../examples/analyze-input.json")).expect("example parses")
}

fn experiment() -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "free-shipping-35", "touchpoint": "checkout.shipping",
        "variants": [{"key": "control", "weight": 1}, {"key": "threshold_35", "weight": 1}],
        "journey": ["add_to_cart", "purchase"], "value_event": "purchase",
        "metrics": [
            {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2},
            {"key": "tickets", "kind": "count", "event": "support_ticket", "direction": "decrease", "role": "guardrail"}
        ]
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("valid experiment")
}

fn variant(key: &str, units: u64, reached: [u64; 2], metrics: [Moments; 4]) -> VariantAggregates {
    let names = [
        "repeat_purchase",
        "tickets",
        "revenue_per_unit",
        "time_to_conversion",
    ];
    VariantAggregates {
        exposures_by_hour: Default::default(),
        key: key.into(),
        units,
        stages: ["add_to_cart", "purchase"]
            .iter()
            .zip(reached)
            .map(|(stage, reached)| StageAggregates {
                covariate: None,
                stage: (*stage).into(),
                reached,
                seconds: Moments::default(),
            })
            .collect(),
        metrics: names
            .iter()
            .zip(metrics)
            .map(|(name, moments)| MetricAggregates {
                covariate: None,
                metric: (*name).into(),
                moments,
            })
            .collect(),
    }
}

fn m(count: u64, sum: f64, sum_squares: f64) -> Moments {
    Moments {
        count,
        sum,
        sum_squares,
    }
}

fn aggregates() -> Aggregates {
    Aggregates {
        variants: vec![
            variant(
                "control",
                5012,
                [1200, 310],
                [
                    m(5012, 40.0, 40.0),
                    m(5012, 260.0, 400.0),
                    m(5012, 15500.0, 2480000.0),
                    m(310, 93000.0, 40000000.0),
                ],
            ),
            variant(
                "threshold_35",
                4990,
                [1290, 352],
                [
                    m(4990, 52.0, 52.0),
                    m(4990, 230.0, 350.0),
                    m(4990, 16900.0, 2710000.0),
                    m(352, 98000.0, 38000000.0),
                ],
            ),
        ],
    }
}

#[test]
fn the_server_results_keep_the_issue_two_fields_and_add_the_statistics() {
    let results = analyze(&experiment(), &aggregates());
    let value = serde_json::to_value(&results).expect("serializes");
    for field in [
        "experiment",
        "control",
        "alpha",
        "correction",
        "variants",
        "stages",
        "metrics",
        "srm",
        "power",
        "summary",
        "warnings",
    ] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    assert_eq!(value["experiment"], "free-shipping-35");
    assert_eq!(value["correction"], "holm");
    let stage = &value["stages"][1];
    assert_eq!(stage["stage"], "purchase");
    let treated = &stage["variants"][1];
    for field in [
        "key",
        "units",
        "reached",
        "rate",
        "step_rate",
        "drop_off",
        "vs_control",
    ] {
        assert!(treated.get(field).is_some(), "stage variant lacks {field}");
    }
    for field in [
        "absolute",
        "relative",
        "p_value",
        "adjusted_p_value",
        "significant",
        "sequential",
        "chance_to_beat_control",
        "expected_loss",
    ] {
        assert!(
            treated["vs_control"].get(field).is_some(),
            "vs_control lacks {field}"
        );
    }
    assert!(
        stage["variants"][0].get("vs_control").is_none(),
        "control compares to nothing"
    );
    assert!((treated["step_rate"].as_f64().expect("number") - 352.0 / 1290.0).abs() < 1e-12);
    let keys: Vec<&str> = results.metrics.iter().map(|m| m.metric.as_str()).collect();
    assert_eq!(
        keys,
        [
            "repeat_purchase",
            "tickets",
            "revenue_per_unit",
            "time_to_conversion"
        ]
    );
    assert_eq!(results.metrics[3].variants[1].units, 352);
    assert!(!results.metrics[3].randomized && results.metrics[2].randomized);
    let back: Results = serde_json::from_value(value).expect("deserializes");
    assert_eq!(back, results);
}

#[test]
fn chance_to_beat_control_reads_the_direction_of_a_metric() {
    let results = analyze(&experiment(), &aggregates());
    // Fewer tickets per unit in the variant (230/4990 < 260/5012): better when lower is good.
    let tickets = results.metrics[1].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    assert!(tickets.chance_to_beat_control.expect("defined") > 0.5);
    assert!(tickets.absolute.estimate.expect("defined") < 0.0);
    // A conversion metric (0/1 per unit) gets the exact Beta posterior.
    let repeat = results.metrics[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    let exact = touchstone_stats::bayes::beta_chance_to_beat(
        touchstone_stats::Counts::new(5012, 40),
        touchstone_stats::Counts::new(4990, 52),
    )
    .expect("defined");
    assert_eq!(repeat.chance_to_beat_control, Some(exact));
}

#[test]
fn the_example_input_matches_the_scipy_welch_test_and_holm_adjusts_across_stages() {
    let results = analyze_input(&example()).expect("valid input");
    let add = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    let purchase = results.stages[1].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    // scipy.stats.ttest_ind(b, a, equal_var=False) on the 0/1 arrays (tests/reference/generate.py).
    let (p_add, p_purchase) = (0.015397444014318603, 0.34913990104781517);
    assert!((add.p_value.expect("defined") - p_add).abs() < 1e-6 * p_add);
    assert!((purchase.p_value.expect("defined") - p_purchase).abs() < 1e-6 * p_purchase);
    // statsmodels multipletests([p_add, p_purchase], method="holm"): [2·p_add, p_purchase].
    assert!((add.adjusted_p_value.expect("defined") - 2.0 * p_add).abs() < 1e-6 * p_add);
    assert!((purchase.adjusted_p_value.expect("defined") - p_purchase).abs() < 1e-6 * p_purchase);
    // Issue 17 changed what `significant` means: the experiment's rule decides (sequential by
    // default), so the fixed-horizon Holm result above (add_to_cart below 0.05) is not yet a
    // verdict while the always-valid interval still includes 0.
    assert!(add.adjusted_p_value.expect("defined") < 0.05);
    for comparison in [add, purchase] {
        let interval = comparison.verdict_interval.as_ref().expect("a test");
        assert_eq!(
            comparison.decided_by,
            touchstone_model::Analysis::Sequential
        );
        assert!(
            !comparison.significant && interval.absolute[0] < 0.0 && interval.absolute[1] > 0.0
        );
        assert_eq!(
            comparison.verdict,
            touchstone_stats::analysis::Verdict::Inconclusive
        );
    }
    assert_eq!(results.metrics[0].metric, "revenue");
    assert!(results.metrics[0].randomized);
    assert!(results.warnings.is_empty(), "{:?}", results.warnings);
    assert!(
        results.summary[0].starts_with("B raises add_to_cart by 9.5% (+")
            && results.summary[0].contains(" always-valid CI "),
        "{}",
        results.summary[0]
    );
    assert!(
        results.summary[1].contains("not significant yet"),
        "{}",
        results.summary[1]
    );
}

#[test]
fn benjamini_hochberg_is_applied_on_request() {
    let mut input = example();
    input["correction"] = json!("bh");
    let results = analyze_input(&input).expect("valid input");
    let add = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    // statsmodels multipletests([0.0154, 0.3491], method="fdr_bh")[1][0] = 2·0.0154 (m/j with j = 1).
    assert!((add.adjusted_p_value.expect("defined") - 2.0 * 0.015397444014318603).abs() < 1e-8);
    assert_eq!(
        serde_json::to_value(&results).expect("serializes")["correction"],
        "bh"
    );
}

#[test]
fn degenerate_data_gives_nulls_and_warnings_never_nan() {
    let input = json!({"control": "A", "journey": ["add_to_cart", "purchase"], "variants": [
        {"key": "A", "weight": 0.5, "units": 0, "stages": {"add_to_cart": 0, "purchase": 0},
         "metrics": {"revenue": {"count": 0, "sum": 0.0, "sum_squares": 0.0}}},
        {"key": "B", "weight": 0.5, "units": 10, "stages": {"add_to_cart": 10, "purchase": 0},
         "metrics": {"revenue": {"count": 10, "sum": 50.0, "sum_squares": 250.0}}}]});
    let results = analyze_input(&input).expect("valid input");
    let text = serde_json::to_string(&results).expect("serializes");
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    assert!(results.stages[0].variants[0].rate.is_none());
    assert!(
        results.stages[0].variants[1]
            .vs_control
            .as_ref()
            .expect("compared")
            .p_value
            .is_none()
    );
    assert!(
        results
            .warnings
            .iter()
            .any(|w| w.contains("variant A: no exposed units"))
    );
    assert!(
        results
            .warnings
            .iter()
            .any(|w| w.contains("stage purchase, B vs A"))
    );
    let all_converted = json!({"journey": ["buy"], "variants": [
        {"key": "A", "units": 50, "stages": {"buy": 50}}, {"key": "B", "units": 50, "stages": {"buy": 50}}]});
    let results = analyze_input(&all_converted).expect("valid input");
    let c = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    assert!(c.p_value.is_none() && c.sequential.p_value.is_none());
    assert!(results.warnings.iter().any(|w| w.contains("zero variance")));
    let zero_control = json!({"journey": ["buy"], "variants": [
        {"key": "A", "units": 50, "stages": {"buy": 0}}, {"key": "B", "units": 50, "stages": {"buy": 4}}]});
    let results = analyze_input(&zero_control).expect("valid input");
    let c = results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    assert!(c.p_value.is_some() && c.relative.estimate.is_none());
    assert!(
        results
            .warnings
            .iter()
            .any(|w| w.contains("control mean is not positive"))
    );
    assert!(results.power.n_per_variant.is_none());
}

#[test]
fn aggregates_missing_a_variant_read_as_zero_units_without_panicking() {
    let mut aggregates = aggregates();
    aggregates.variants.truncate(1);
    aggregates.variants[0].metrics.clear();
    let results = analyze(&experiment(), &aggregates);
    assert_eq!(results.variants[1].units, 0);
    assert!(results.warnings.iter().any(|w| w.contains("threshold_35")));
    assert!(serde_json::to_string(&results).is_ok());
}

#[test]
fn a_lopsided_split_is_flagged_as_a_sample_ratio_mismatch() {
    let mut input = example();
    input["variants"][1]["units"] = json!(11000);
    let results = analyze_input(&input).expect("valid input");
    assert!(results.srm.mismatch);
    assert!(results.summary[0].starts_with("Sample ratio mismatch"));
}

/// (what is wrong, how to break the example, the field the error must name)
type BadInput = (&'static str, fn(&mut Value), &'static str);

#[test]
fn bad_input_names_the_offending_field() {
    let cases: [BadInput; 6] = [
        (
            "negative count",
            |v| v["variants"][1]["stages"]["purchase"] = json!(-3),
            "variants[1].stages.purchase",
        ),
        (
            "reached above units",
            |v| v["variants"][0]["stages"]["add_to_cart"] = json!(20000),
            "variants[0].stages.add_to_cart",
        ),
        ("unknown control", |v| v["control"] = json!("Z"), "control"),
        (
            "missing stage",
            |v| {
                v["variants"][1]["stages"]
                    .as_object_mut()
                    .expect("object")
                    .remove("purchase");
            },
            "variants[1].stages.purchase",
        ),
        (
            "negative units",
            |v| v["variants"][0]["units"] = json!(-1),
            "variants[0].units",
        ),
        (
            "impossible moments",
            |v| v["variants"][0]["metrics"]["revenue"]["sum_squares"] = json!(1.0),
            "variants[0].metrics.revenue.sum_squares",
        ),
    ];
    for (what, break_it, field) in cases {
        let mut input = example();
        break_it(&mut input);
        let error = analyze_input(&input).expect_err(what);
        assert_eq!(error.field(), field, "{what}: {error}");
    }
    assert!(matches!(
        analyze_input(
            &json!({"journey": ["a"], "variants": [{"key": "A", "units": 1, "stages": {"a": 0}}]})
        ),
        Err(InputError::Invalid { .. })
    ));
}

#[test]
fn the_plan_gives_units_per_variant_by_the_issue_formula() {
    let planned = plan(&json!({"baseline": 0.03, "mde": 0.05, "alpha": 0.05, "power": 0.8}))
        .expect("valid plan");
    // ceil of the issue-4 formula with scipy norm.ppf (tests/reference/generate.py).
    assert_eq!(planned["n_per_variant"], json!(207_938));
    assert_eq!(planned["total_units"], json!(415_876));
    let error = plan(&json!({"baseline": 1.5, "mde": 0.05})).expect_err("baseline out of range");
    assert_eq!(error.field(), "baseline");
}

#[test]
fn the_table_aligns_columns_and_shows_percents() {
    let table = render_table(&analyze_input(&example()).expect("valid input"));
    assert!(table.contains("stage add_to_cart") && table.contains("metric revenue"));
    assert!(
        table.contains("12.00%") && table.contains("13.13%"),
        "{table}"
    );
    let block: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("stage add_to_cart"))
        .skip(1)
        .take(3)
        .collect();
    // Numbers are right-aligned under their header: "units" ends where "10000" and "10050" end.
    let end_of = |line: &str, word: &str| line.find(word).map(|i| i + word.len());
    assert_eq!(
        end_of(block[0], "units"),
        end_of(block[1], "10000"),
        "{table}"
    );
    assert_eq!(
        end_of(block[0], "units"),
        end_of(block[2], "10050"),
        "{table}"
    );
}

#[test]
fn mature_units_count_only_units_whose_whole_window_has_passed() {
    const HOUR: i64 = 3_600_000;
    let experiment = experiment();
    let zero = Moments::default();
    let mut control = variant("control", 5, [0, 0], [zero; 4]);
    let mut treatment = variant("threshold_35", 4, [0, 0], [zero; 4]);
    // Hour 1000: 3 + 1 units; hour 1010: 2 + 3 units.
    control.exposures_by_hour = [(1000, 3), (1010, 2)].into();
    treatment.exposures_by_hour = [(1000, 1), (1010, 3)].into();
    let aggregates = Aggregates {
        variants: vec![control, treatment],
    };
    let mut results = analyze(&experiment, &aggregates);
    let mature = |results: &Results, metric: &str| -> Vec<Option<u64>> {
        results
            .metrics
            .iter()
            .find(|m| m.metric == metric)
            .expect("metric")
            .variants
            .iter()
            .map(|v| v.mature_units)
            .collect()
    };
    assert_eq!(
        mature(&results, "tickets"),
        [None, None],
        "unknown until filled"
    );
    // The default window is the experiment's conversion window (168 h). At hour 1169 the
    // units of hour 1000 have had 168 whole hours (their hour ended at 1001); those of hour
    // 1010 have not.
    touchstone_stats::analysis::fill_mature_units(
        &mut results,
        &experiment,
        &aggregates,
        1169 * HOUR,
    );
    assert_eq!(mature(&results, "tickets"), [Some(3), Some(1)]);
    // One millisecond earlier the hour-1000 units are one millisecond short.
    touchstone_stats::analysis::fill_mature_units(
        &mut results,
        &experiment,
        &aggregates,
        1169 * HOUR - 1,
    );
    assert_eq!(mature(&results, "tickets"), [Some(0), Some(0)]);
    touchstone_stats::analysis::fill_mature_units(
        &mut results,
        &experiment,
        &aggregates,
        2000 * HOUR,
    );
    assert_eq!(mature(&results, "repeat_purchase"), [Some(5), Some(4)]);
}
