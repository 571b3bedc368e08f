//! The guardrail decision: which (variant, guardrail metric) pairs are harmed, and the
//! false-stop rate of checking it every hour on A/A experiments.

use super::guardrail_simulation as sim;
use touchstone_model::{Aggregates, Direction, Moments};
use touchstone_stats::{analyze, guardrail_harms, srm_alert, wholly_harmful};

#[test]
fn an_interval_is_harmful_only_when_wholly_on_the_bad_side_of_zero() {
    let cases = [
        ([0.01, 0.03], Direction::Decrease, true),
        ([-0.01, 0.03], Direction::Decrease, false),
        ([0.0, 0.03], Direction::Decrease, false),
        ([-0.03, -0.01], Direction::Decrease, false),
        ([-0.03, -0.01], Direction::Increase, true),
        ([-0.03, 0.01], Direction::Increase, false),
        ([0.01, 0.03], Direction::Increase, false),
    ];
    for (interval, direction, harmful) in cases {
        assert_eq!(
            wholly_harmful(interval, direction),
            harmful,
            "{interval:?} {direction:?}"
        );
    }
}

/// Control with 2% of units erring once; the treatment with `rate` of its units erring once.
fn aggregates(units: u64, rate: f64) -> Aggregates {
    aggregates_split(units, units, rate)
}

fn aggregates_split(control_units: u64, treatment_units: u64, rate: f64) -> Aggregates {
    let experiment = sim::experiment();
    // `rate` of the units erred once: count, sum and sum of squares are all that number.
    let arm = |key: &str, units: u64, rate: f64| {
        let errors = (units as f64 * rate).round();
        let moments = Moments {
            count: units,
            sum: errors,
            sum_squares: errors,
        };
        sim::arm(&experiment, key, units, moments)
    };
    Aggregates {
        variants: vec![
            arm("control", control_units, 0.02),
            arm("treatment", treatment_units, rate),
        ],
    }
}

#[test]
fn a_variant_that_multiplies_errors_is_harmed_once_each_arm_has_enough_units() {
    let experiment = sim::experiment();
    let results = analyze(&experiment, &aggregates(2_000, 0.10));
    let harms = guardrail_harms(&results, 200);
    assert_eq!(harms.len(), 1, "{harms:?}");
    assert_eq!(harms[0].variant, "treatment");
    assert_eq!(harms[0].metric, "checkout_error");
    assert!((harms[0].estimate - 0.08).abs() < 1e-12);
    assert!(harms[0].interval[0] > 0.0);
    // The same data below min_units per arm: nothing acts yet.
    assert!(guardrail_harms(&results, 2_001).is_empty());
}

#[test]
fn fewer_errors_or_a_small_rise_inside_the_interval_is_no_harm() {
    let experiment = sim::experiment();
    for rate in [0.0, 0.02, 0.025] {
        let results = analyze(&experiment, &aggregates(2_000, rate));
        assert!(guardrail_harms(&results, 200).is_empty(), "rate {rate}");
    }
}

#[test]
fn checking_aa_experiments_every_hour_for_30_days_keeps_false_stops_below_alpha() {
    // 500 experiments × 720 looks; the figure is printed by the guardrail_calibration example.
    let rate = sim::false_stop_rate(10);
    assert!(rate <= sim::ALPHA, "false-stop rate {rate}");
    // A checker that never looks would also pass; some A/A noise must reach the data.
    assert!(rate > 0.0, "false-stop rate {rate}");
}

#[test]
fn a_sample_ratio_mismatch_below_one_in_a_thousand_alerts_with_its_p_value() {
    let experiment = sim::experiment();
    // scipy.stats.chisquare([1000, 800]) → statistic 22.222, p = 2.4284674729758432e-06.
    let skewed = analyze(&experiment, &aggregates_split(1_000, 800, 0.02));
    let p = srm_alert(&skewed).expect("a mismatch alerts");
    assert!((p - 2.4284674729758432e-06).abs() < 1e-12, "{p}");
    // scipy.stats.chisquare([1000, 950]) → p = 0.2575179822490596: no alert.
    let fair = analyze(&experiment, &aggregates_split(1_000, 950, 0.02));
    assert_eq!(srm_alert(&fair), None);
}
