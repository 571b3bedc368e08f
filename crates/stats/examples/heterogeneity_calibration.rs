//! Prints the false-positive rate of Cochran's Q by segment when slices do not differ (the same
//! seeded simulation the calibration test asserts on):
//! `cargo run --release -p touchstone-stats --example heterogeneity_calibration`.
#![allow(clippy::print_stdout)]

#[path = "../tests/it/segment_simulation.rs"]
mod segment_simulation;
#[path = "../tests/it/simulation.rs"]
#[allow(dead_code)]
mod simulation;

use segment_simulation::{ALPHA, EXPERIMENTS, SLICES, UNITS};

fn main() {
    let slices: Vec<String> = SLICES
        .iter()
        .map(|(value, share, rate)| {
            format!("{value} {:.0}% at {:.1}%", share * 100.0, rate * 100.0)
        })
        .collect();
    println!(
        "{EXPERIMENTS} A/A experiments, {UNITS} units each in 4 slices ({}), no difference between slices",
        slices.join(", ")
    );
    let (rate, defined) = segment_simulation::heterogeneity_false_positive_rate(5);
    println!(
        "Cochran's Q of the purchase effect, share with p < {ALPHA}: {rate:.4}  (want 0.03..0.07; Q defined in {defined})"
    );
}
