//! Calibration by seeded simulation: the error rates the results page promises are the ones
//! a team gets. Figures are printed by `cargo run --release -p touchstone-stats --example
//! calibration` and `--example heterogeneity_calibration`.

use super::{segment_simulation, simulation};

#[test]
fn aa_tests_reject_at_the_nominal_rate() {
    let rate = simulation::aa_false_positive_rate(1);
    assert!(
        (0.035..=0.065).contains(&rate),
        "A/A false positive rate {rate}"
    );
}

#[test]
fn daily_looks_keep_the_sequential_test_below_alpha_while_peeking_inflates_the_fixed_one() {
    let (fixed, sequential) = simulation::peeking_false_positive_rates(2);
    assert!(
        sequential <= 0.05,
        "sequential false positive rate {sequential}"
    );
    assert!(
        fixed >= 0.15,
        "fixed-horizon peeking false positive rate {fixed}"
    );
}

#[test]
fn ninety_five_percent_intervals_cover_the_true_difference_ninety_five_percent_of_the_time() {
    let coverage = simulation::coverage(3);
    assert!((0.935..=0.965).contains(&coverage), "coverage {coverage}");
}

#[test]
fn a_true_five_percent_lift_is_detected_at_the_promised_power() {
    let (promised, detected) = simulation::power(4);
    assert!(
        (detected - promised).abs() <= 0.03,
        "detected {detected}, promised {promised}"
    );
}

#[test]
fn with_no_difference_between_four_slices_cochrans_q_rejects_at_the_nominal_rate() {
    let (rate, defined) = segment_simulation::heterogeneity_false_positive_rate(5);
    assert_eq!(
        defined,
        segment_simulation::EXPERIMENTS,
        "Q undefined somewhere"
    );
    assert!(
        (0.03..=0.07).contains(&rate),
        "Q false positive rate {rate}"
    );
}
