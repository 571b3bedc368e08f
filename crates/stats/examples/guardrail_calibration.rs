//! Prints the guardrail checker's false-stop rate on seeded A/A experiments (the simulation
//! the `guardrails` test asserts on):
//! `cargo run --release -p touchstone-stats --example guardrail_calibration`.
#![allow(clippy::print_stdout)]

#[path = "../tests/it/guardrail_simulation.rs"]
mod guardrail_simulation;

use guardrail_simulation as sim;

fn main() {
    let rate = sim::false_stop_rate(10);
    println!(
        "{} A/A experiments, {} units/hour, checked hourly for 30 days ({} looks), min_units {}:",
        sim::EXPERIMENTS,
        sim::UNITS_PER_HOUR,
        sim::LOOKS,
        sim::MIN_UNITS
    );
    println!("false-stop rate {rate:.4} (alpha {})", sim::ALPHA);
}
