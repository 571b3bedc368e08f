//! Issue 17, item 5: input no data could have is refused naming the field (the CLI turns the
//! error into exit 2), and degenerate but possible data gives a real interval or `null` with a
//! warning that says why — never a zero-width interval presented as a result.

use serde_json::{Value, json};
use touchstone_stats::analysis::Comparison;
use touchstone_stats::{Results, analyze_input};

fn two_arms(a: Value, b: Value) -> Value {
    json!({"control": "A", "journey": ["buy"], "variants": [a, b]})
}

fn arm(key: &str, units: u64, reached: u64) -> Value {
    json!({"key": key, "units": units, "stages": {"buy": reached}})
}

fn refused_field(input: &Value) -> String {
    analyze_input(input)
        .expect_err("refused")
        .field()
        .to_owned()
}

fn comparison(results: &Results) -> &Comparison {
    results.stages[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared")
}

fn warned(results: &Results, needle: &str) -> bool {
    results.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn impossible_counts_are_refused_naming_the_field() {
    let mut metric_above_units = two_arms(arm("A", 100, 10), arm("B", 100, 12));
    metric_above_units["variants"][1]["metrics"] =
        json!({"orders": {"count": 101, "sum": 101.0, "sum_squares": 101.0}});
    metric_above_units["variants"][0]["metrics"] =
        json!({"orders": {"count": 100, "sum": 100.0, "sum_squares": 100.0}});
    assert_eq!(
        refused_field(&metric_above_units),
        "variants[1].metrics.orders.count"
    );
    let reached_above_units = two_arms(arm("A", 100, 101), arm("B", 100, 12));
    assert_eq!(
        refused_field(&reached_above_units),
        "variants[0].stages.buy"
    );
    // Each arm fits in 64 bits, their total does not: refused in release builds too (the
    // sum is checked, not wrapped).
    let half = u64::MAX / 2 + 1;
    let overflowing = two_arms(arm("A", half, 1), arm("B", half, 1));
    assert_eq!(refused_field(&overflowing), "variants[1].units");
}

#[test]
fn sums_beyond_what_f64_can_square_are_refused_naming_the_field() {
    for (sum, squares, field) in [
        (1e200, 1e200, "variants[1].metrics.revenue.sum"),
        (1e100, 1e300, "variants[1].metrics.revenue.sum_squares"),
    ] {
        let mut input = two_arms(arm("A", 10, 1), arm("B", 10, 2));
        input["variants"][0]["metrics"] =
            json!({"revenue": {"count": 10, "sum": 5.0, "sum_squares": 10.0}});
        input["variants"][1]["metrics"] =
            json!({"revenue": {"count": 10, "sum": sum, "sum_squares": squares}});
        assert_eq!(refused_field(&input), field);
    }
}

#[test]
fn an_alpha_outside_the_supported_range_is_refused_with_the_range() {
    for alpha in [1e-300, 1e-11, 0.6, 1.0] {
        let mut input = two_arms(arm("A", 100, 10), arm("B", 100, 12));
        input["alpha"] = json!(alpha);
        let error = analyze_input(&input).expect_err("alpha refused");
        assert_eq!(error.field(), "alpha");
        assert!(error.to_string().contains("1e-10"), "{error}");
        assert!(error.to_string().contains("0.5"), "{error}");
    }
    for alpha in [1e-10, 0.5] {
        let mut input = two_arms(arm("A", 100, 10), arm("B", 100, 12));
        input["alpha"] = json!(alpha);
        let results = analyze_input(&input).expect("the bounds are allowed");
        assert!(comparison(&results).p_value.is_some());
    }
}

#[test]
fn a_variant_without_events_has_a_real_absolute_interval_and_no_zero_width_relative_one() {
    let results = analyze_input(&two_arms(arm("A", 50, 7), arm("B", 50, 0))).expect("valid");
    let c = comparison(&results);
    let [low, high] = c.absolute.ci.expect("Welch's interval is defined");
    assert!(low < high, "{low} {high}");
    assert_eq!(c.relative.estimate, Some(-1.0));
    assert!(c.relative.ci.is_none(), "{:?}", c.relative.ci);
    assert!(warned(&results, "zero width"), "{:?}", results.warnings);
    let interval = c.verdict_interval.as_ref().expect("a verdict interval");
    assert!(interval.relative.is_none());
    assert!(
        interval
            .note
            .as_deref()
            .is_some_and(|note| note.contains("no relative interval")),
        "{interval:?}"
    );
}

#[test]
fn one_unit_in_an_arm_gives_nulls_with_the_reason() {
    let results = analyze_input(&two_arms(arm("A", 1, 1), arm("B", 40, 9))).expect("valid");
    let c = comparison(&results);
    assert!(c.absolute.ci.is_none() && c.p_value.is_none() && c.verdict_interval.is_none());
    assert!(!c.significant);
    assert!(
        warned(&results, "fewer than two units"),
        "{:?}",
        results.warnings
    );
}

#[test]
fn a_metric_without_variance_in_either_arm_gives_nulls_with_the_reason() {
    let mut input = two_arms(arm("A", 10, 1), arm("B", 10, 2));
    input["variants"][0]["metrics"] =
        json!({"price": {"count": 10, "sum": 50.0, "sum_squares": 250.0}});
    input["variants"][1]["metrics"] =
        json!({"price": {"count": 10, "sum": 50.0, "sum_squares": 250.0}});
    let results = analyze_input(&input).expect("valid");
    let c = results.metrics[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    assert!(c.absolute.ci.is_none() && c.relative.ci.is_none() && c.verdict_interval.is_none());
    assert!(c.chance_to_beat_control.is_none());
    assert!(warned(&results, "zero variance"), "{:?}", results.warnings);
}

#[test]
fn a_negative_control_mean_reads_from_the_absolute_difference() {
    // Profit per unit −2.0 → −1.5: the change is up (+0.5), the ratio −25 % is undefined.
    let mut input = two_arms(arm("A", 4000, 100), arm("B", 4000, 100));
    let moments = |mean: f64| {
        let n = 4000.0;
        json!({"count": 4000, "sum": mean * n, "sum_squares": 4.0 * (n - 1.0) + n * mean * mean})
    };
    input["variants"][0]["metrics"] = json!({"profit": moments(-2.0)});
    input["variants"][1]["metrics"] = json!({"profit": moments(-1.5)});
    let results = analyze_input(&input).expect("valid");
    let c = results.metrics[0].variants[1]
        .vs_control
        .as_ref()
        .expect("compared");
    assert!(c.relative.estimate.is_none());
    assert!((c.absolute.estimate.expect("estimate") - 0.5).abs() < 1e-9);
    assert!(c.chance_to_beat_control.expect("chance") > 0.99);
    assert!(warned(&results, "metric profit, B vs A"));
    let sentence = results
        .summary
        .iter()
        .find(|s| s.contains("profit"))
        .expect("a sentence");
    assert!(
        sentence.starts_with("B raises profit by +0.50"),
        "{sentence}"
    );
    assert!(sentence.contains("better"), "{sentence}");
}
