//! Seeded simulations of aggregated binomial counts, shared by the calibration tests and the
//! `calibration` example that prints the figures. Counts per look are drawn exactly (inverse
//! CDF of the binomial), so no per-unit loop is needed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::{Binomial, DiscreteCDF};
use touchstone_stats::power::sample_size_per_variant;
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::welch::welch;
use touchstone_stats::{Counts, Sample};

pub const EXPERIMENTS: usize = 2_000;
pub const ALPHA: f64 = 0.05;

/// A binomial draw by inversion: the smallest k with F(k) ≥ u, by bisection.
pub fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    let dist = Binomial::new(p, n).expect("valid binomial");
    let u: f64 = rng.random();
    let (mut low, mut high) = (0_u64, n);
    while low < high {
        let mid = low + (high - low) / 2;
        if dist.cdf(mid) >= u {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

fn test(a: Counts, b: Counts) -> Option<(f64, [f64; 2], f64, f64)> {
    let (sa, sb) = (Sample::from_counts(a).ok()?, Sample::from_counts(b).ok()?);
    let t = welch(&sa, &sb, ALPHA).ok()?;
    Some((t.p_value, t.ci, t.estimate, t.standard_error))
}

/// Share of A/A experiments (p = 0.1, 5 000 units per arm) with p < alpha.
pub fn aa_false_positive_rate(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = 5_000;
    let hits = (0..EXPERIMENTS)
        .filter(|_| {
            let a = Counts::new(n, binomial(&mut rng, n, 0.1));
            let b = Counts::new(n, binomial(&mut rng, n, 0.1));
            test(a, b).is_some_and(|(p, ..)| p < ALPHA)
        })
        .count();
    hits as f64 / EXPERIMENTS as f64
}

/// A/A with 20 daily looks of 500 units per arm: (fixed-horizon FPR when stopping at the
/// first look with p < alpha, sequential FPR when stopping at the first always-valid p < alpha).
pub fn peeking_false_positive_rates(seed: u64) -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut fixed, mut sequential) = (0, 0);
    for _ in 0..EXPERIMENTS {
        let (mut a, mut b) = (Counts::default(), Counts::default());
        let (mut fixed_hit, mut sequential_hit) = (false, false);
        for _ in 0..20 {
            a = Counts::new(a.units + 500, a.reached + binomial(&mut rng, 500, 0.1));
            b = Counts::new(b.units + 500, b.reached + binomial(&mut rng, 500, 0.1));
            if let Some((p, _, estimate, se)) = test(a, b) {
                fixed_hit |= p < ALPHA;
                let total = a.units + b.units;
                sequential_hit |= confidence_sequence(estimate, se, total, ALPHA, 10_000.0)
                    .is_ok_and(|s| s.p_value < ALPHA);
            }
        }
        fixed += usize::from(fixed_hit);
        sequential += usize::from(sequential_hit);
    }
    (
        fixed as f64 / EXPERIMENTS as f64,
        sequential as f64 / EXPERIMENTS as f64,
    )
}

/// Share of 95% Welch intervals (p 0.10 vs 0.105, 5 000 units per arm) covering the true
/// difference.
pub fn coverage(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = 5_000;
    let truth = 0.105 - 0.1;
    let covered = (0..EXPERIMENTS)
        .filter(|_| {
            let a = Counts::new(n, binomial(&mut rng, n, 0.1));
            let b = Counts::new(n, binomial(&mut rng, n, 0.105));
            test(a, b).is_some_and(|(_, ci, ..)| ci[0] <= truth && truth <= ci[1])
        })
        .count();
    covered as f64 / EXPERIMENTS as f64
}

/// (promised power, share detected): baseline 0.1, true lift +5%, the planned sample.
pub fn power(seed: u64) -> (f64, f64) {
    let promised = 0.8;
    let n = sample_size_per_variant(0.1, 0.05, ALPHA, promised).expect("plannable");
    let mut rng = StdRng::seed_from_u64(seed);
    let detected = (0..EXPERIMENTS)
        .filter(|_| {
            let a = Counts::new(n, binomial(&mut rng, n, 0.1));
            let b = Counts::new(n, binomial(&mut rng, n, 0.105));
            test(a, b).is_some_and(|(p, _, estimate, _)| p < ALPHA && estimate > 0.0)
        })
        .count();
    (promised, detected as f64 / EXPERIMENTS as f64)
}
