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
    println!(
        "guardrail metric: false-stop rate {rate:.4} (alpha {})",
        sim::ALPHA
    );
    let rate = sim::stage_false_stop_rate(11, sim::EXPERIMENTS);
    println!("guardrail stage (10% purchase): false-stop rate {rate:.4}");
    for (seed, share) in [(12, 0.02), (13, 0.20)] {
        let rate = sim::plugin_false_stop_rate(seed, share);
        println!("plugin health ({share} of calls fall back): false-stop rate {rate:.4}");
    }
}
