//! Prints the calibration figures of the statistics engine (the same seeded simulations the
//! integration tests assert on): `cargo run --release -p touchstone-stats --example calibration`.
#![allow(clippy::print_stdout)]

#[path = "../tests/it/simulation.rs"]
mod simulation;

fn main() {
    println!(
        "{} simulated experiments per figure, alpha {}",
        simulation::EXPERIMENTS,
        simulation::ALPHA
    );
    let aa = simulation::aa_false_positive_rate(1);
    println!(
        "A/A share with p < 0.05 (5 000 units per arm):           {aa:.4}  (want 0.035..0.065)"
    );
    let (fixed, sequential) = simulation::peeking_false_positive_rates(2);
    println!(
        "20 daily looks, fixed-horizon test, any p < 0.05:         {fixed:.4}  (far above 0.05)"
    );
    println!(
        "20 daily looks, always-valid test, any p < 0.05:          {sequential:.4}  (want <= 0.05)"
    );
    let coverage = simulation::coverage(3);
    println!(
        "95% Welch CI coverage (0.100 vs 0.105):                   {coverage:.4}  (want 0.935..0.965)"
    );
    let (promised, detected) = simulation::power(4);
    println!(
        "true +5% lift at the planned n, detected:                 {detected:.4}  (promised {promised:.2} +- 0.03)"
    );
}
