//! CUPED calibration by seeded simulation from sufficient statistics (issue 20): the interval
//! narrows by √(1 − ρ²) and keeps its error rates. Figures: `cargo run --release -p
//! touchstone-stats --example cuped_calibration`.

use super::cuped_simulation as sim;

#[test]
fn with_rho_0_6_the_interval_is_a_fifth_narrower() {
    let ratio = sim::width_ratio(21);
    assert!((0.76..=0.84).contains(&ratio), "width ratio {ratio}");
}

#[test]
fn adjusted_aa_tests_reject_at_the_nominal_rate() {
    let rate = sim::aa_false_positive_rate(22);
    assert!(
        (0.035..=0.065).contains(&rate),
        "A/A false positive rate {rate}"
    );
}

#[test]
fn adjusted_intervals_cover_the_true_difference() {
    let coverage = sim::coverage(23);
    assert!((0.935..=0.965).contains(&coverage), "coverage {coverage}");
}

#[test]
fn the_adjusted_always_valid_interval_survives_twenty_looks() {
    let rate = sim::sequential_false_positive_rate(24);
    assert!(rate <= 0.05, "sequential false positive rate {rate}");
    assert!(rate > 0.0, "some A/A noise must reach the test: {rate}");
}
