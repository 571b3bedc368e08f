//! The guardrail decision: which (variant, guardrail metric / guardrail stage / plugin health)
//! pairs are harmed, and the false-stop rate of checking each every hour on A/A experiments.

use super::guardrail_simulation as sim;
use touchstone_model::{Aggregates, Direction, Moments, PluginCalls};
use touchstone_stats::{
    GuardrailKind, PLUGIN_FALLBACKS, analyze, guardrail_harms, plugin_health, plugin_health_harms,
    srm_alert, wholly_harmful,
};

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

#[test]
fn a_guardrail_stage_harms_when_its_conversion_drops_with_confidence() {
    let experiment = sim::stage_experiment();
    let arms = |control: u64, treatment: u64| Aggregates {
        variants: vec![
            sim::stage_arm(&experiment, "control", 2_000, control),
            sim::stage_arm(&experiment, "treatment", 2_000, treatment),
        ],
    };
    // 20% → 10% purchase: harmed, on the stage, with the stage's name and a negative effect.
    let results = analyze(&experiment, &arms(400, 200));
    assert!(
        results
            .stages
            .iter()
            .any(|s| s.stage == "purchase" && s.guardrail)
    );
    assert!(
        results
            .stages
            .iter()
            .any(|s| s.stage == "begin_checkout" && !s.guardrail)
    );
    let harms = guardrail_harms(&results, 200);
    // begin_checkout dropped just as much but is not marked: only purchase acts.
    assert_eq!(harms.len(), 1, "{harms:?}");
    assert_eq!(harms[0].metric, "purchase");
    assert_eq!(harms[0].kind, GuardrailKind::Stage);
    assert!((harms[0].estimate + 0.10).abs() < 1e-12);
    assert!(harms[0].interval[1] < 0.0);
    assert!(guardrail_harms(&results, 2_001).is_empty());
    // More purchases, or the same, is no harm.
    for treatment in [400, 600] {
        let results = analyze(&experiment, &arms(400, treatment));
        assert!(guardrail_harms(&results, 200).is_empty(), "{treatment}");
    }
}

#[test]
fn the_results_mark_guardrail_stages_and_leave_the_others_unmarked_on_the_wire() {
    let experiment = sim::stage_experiment();
    let aggregates = Aggregates {
        variants: vec![
            sim::stage_arm(&experiment, "control", 100, 10),
            sim::stage_arm(&experiment, "treatment", 100, 10),
        ],
    };
    let wire = serde_json::to_value(analyze(&experiment, &aggregates)).expect("serializes");
    assert_eq!(wire["stages"][1]["guardrail"], true);
    assert!(
        wire["stages"][0].get("guardrail").is_none(),
        "{}",
        wire["stages"][0]
    );
    assert!(wire.get("plugin_health").is_none());
}

#[test]
fn checking_a_guardrail_stage_of_aa_experiments_hourly_keeps_false_stops_below_alpha() {
    // 200 experiments, not the example's 500: every look runs the whole analysis, whose exact
    // Bayesian sums grow with the conversions (≈0.3 ms a look here), and 500 × 720 looks took
    // four minutes of the test run. The example reports the 500-experiment figure.
    let rate = sim::stage_false_stop_rate(11, 200);
    assert!(rate <= sim::ALPHA, "false-stop rate {rate}");
    assert!(rate > 0.0, "false-stop rate {rate}");
}

fn calls(control: (u64, u64), treatment: (u64, u64)) -> [PluginCalls; 2] {
    [
        PluginCalls {
            calls: control.0,
            fallbacks: control.1,
        },
        PluginCalls {
            calls: treatment.0,
            fallbacks: treatment.1,
        },
    ]
}

#[test]
fn a_variant_whose_plugin_always_fails_harms_plugin_health_once_each_arm_has_enough_calls() {
    let experiment = sim::experiment();
    let health = plugin_health(&experiment, &calls((60, 0), (60, 60)));
    assert_eq!(health.len(), 2);
    assert_eq!(
        (
            health[0].key.as_str(),
            health[0].calls,
            health[0].fallbacks,
            health[0].fallback_share
        ),
        ("control", 60, 0, Some(0.0))
    );
    assert!(health[0].vs_control.is_none());
    assert_eq!(health[1].fallback_share, Some(1.0));
    let harms = plugin_health_harms(&health, "control", 50);
    assert_eq!(harms.len(), 1, "{harms:?}");
    assert_eq!(
        (
            harms[0].variant.as_str(),
            harms[0].metric.as_str(),
            harms[0].kind
        ),
        ("treatment", PLUGIN_FALLBACKS, GuardrailKind::PluginHealth)
    );
    assert_eq!(harms[0].estimate, 1.0);
    assert!(harms[0].interval[0] > 0.0);
    // Below min_calls in either arm: nothing acts yet.
    assert!(plugin_health_harms(&health, "control", 61).is_empty());
}

#[test]
fn equal_or_lower_fallback_shares_and_no_calls_are_no_harm() {
    let experiment = sim::experiment();
    for treatment in [(2_000, 40), (2_000, 0), (2_000, 44)] {
        let health = plugin_health(&experiment, &calls((2_000, 40), treatment));
        assert!(
            plugin_health_harms(&health, "control", 200).is_empty(),
            "{treatment:?}"
        );
    }
    // A control that fails more than the variant is not the variant's harm.
    let health = plugin_health(&experiment, &calls((2_000, 400), (2_000, 0)));
    assert!(plugin_health_harms(&health, "control", 200).is_empty());
    assert!(plugin_health(&experiment, &[]).is_empty());
    assert!(plugin_health(&experiment, &calls((0, 0), (0, 0))).is_empty());
}

#[test]
fn checking_plugin_health_of_aa_experiments_hourly_keeps_false_stops_below_alpha() {
    // Fallbacks on 2% and on 20% of both arms' calls: each checked 720 times over 30 days.
    for (seed, share) in [(12, 0.02), (13, 0.20)] {
        let rate = sim::plugin_false_stop_rate(seed, share);
        assert!(rate <= sim::ALPHA, "share {share}: false-stop rate {rate}");
        assert!(rate > 0.0, "share {share}: false-stop rate {rate}");
    }
}
