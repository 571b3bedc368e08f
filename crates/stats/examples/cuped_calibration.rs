//! Prints CUPED's calibration figures (the seeded simulations the integration tests assert on):
//! `cargo run --release -p touchstone-stats --example cuped_calibration`.
#![allow(clippy::print_stdout)]

#[path = "../tests/it/cuped_simulation.rs"]
mod cuped_simulation;

use cuped_simulation as sim;

fn main() {
    println!(
        "{} simulated experiments per figure, rho {}, {} units per arm, alpha {}",
        sim::EXPERIMENTS,
        sim::RHO,
        sim::UNITS_PER_ARM,
        sim::ALPHA
    );
    let ratio = sim::width_ratio(21);
    println!("CI width, adjusted / unadjusted:              {ratio:.4}  (want 0.76..0.84)");
    let aa = sim::aa_false_positive_rate(22);
    println!("A/A share with p < 0.05:                      {aa:.4}  (want 0.035..0.065)");
    let coverage = sim::coverage(23);
    println!("95% CI coverage:                              {coverage:.4}  (want 0.935..0.965)");
    let sequential = sim::sequential_false_positive_rate(24);
    println!("20 looks, always-valid, any p < 0.05:         {sequential:.4}  (want <= 0.05)");
}
