//! Chance to be best for continuous metrics: each arm's mean has the normal posterior
//! N(m_k, s_k²/n_k) (flat prior, as [`super::normal_chance_to_beat`]), and
//! P(k is the largest) = ∫ φ_k(x)·Π_{j≠k} Φ_j(x) dx, by Gauss–Legendre panels placed per arm
//! like the Beta grid ([`super::integrals`]): edges at 0, ½, 1, …, 12 standard deviations each
//! side of every arm's mean (the normal mass beyond 12 sd is below 1e-32), so every arm's
//! transition is resolved whatever the other arms' widths. Points are offsets from the first
//! arm's mean, so arms 1e-12 apart keep their resolution. Cost: arms² × ~30 panels × 20
//! nodes, independent of the counts.

use super::quadrature::{NODES, rule};
use crate::sample::{Sample, Undefined};
use crate::welch::standard_normal;
use statrs::distribution::ContinuousCDF;

/// Panel edges, in standard deviations from each arm's mean, on each side.
const EDGES: [f64; 15] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0,
];

/// P(arm k's mean is the largest), for every arm, by the normal approximation. Each arm needs
/// at least one unit and a positive variance of its mean.
pub fn normal_chance_to_be_best(arms: &[Sample]) -> Result<Vec<f64>, Undefined> {
    if arms.is_empty() || arms.iter().any(|arm| arm.n == 0) {
        return Err(Undefined::NoUnits);
    }
    let reference = arms[0].mean;
    let posteriors: Vec<(f64, f64)> = arms
        .iter()
        .map(|arm| (arm.mean - reference, arm.mean_variance().sqrt()))
        .collect();
    if posteriors
        .iter()
        .any(|&(mean, sd)| !(mean.is_finite() && sd.is_finite()))
    {
        return Err(Undefined::NotFinite);
    }
    if posteriors.iter().any(|&(_, sd)| sd <= 0.0) {
        return Err(Undefined::ZeroVariance);
    }
    let mut edges: Vec<f64> = posteriors
        .iter()
        .flat_map(|&(mean, sd)| {
            EDGES
                .iter()
                .flat_map(move |k| [mean - k * sd, mean + k * sd])
        })
        .collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    let last = EDGES[EDGES.len() - 1];
    let covered = |x: f64| {
        posteriors
            .iter()
            .any(|&(mean, sd)| (x - mean).abs() <= last * sd)
    };
    let normal = standard_normal();
    let rule = rule();
    let mut best = vec![0.0; arms.len()];
    let mut density = vec![0.0; arms.len()];
    let mut cdf = vec![0.0; arms.len()];
    for pair in edges.windows(2).filter(|pair| pair[1] > pair[0]) {
        let (mid, half) = ((pair[0] + pair[1]) / 2.0, (pair[1] - pair[0]) / 2.0);
        if !covered(mid) {
            continue;
        }
        for (node, weight) in rule.nodes.iter().zip(rule.weights).take(NODES) {
            let x = mid + half * node;
            for (j, &(mean, sd)) in posteriors.iter().enumerate() {
                let z = (x - mean) / sd;
                density[j] = (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt());
                cdf[j] = normal.cdf(z);
            }
            for (k, total) in best.iter_mut().enumerate() {
                let others: f64 = cdf
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .map(|(_, f)| f)
                    .product();
                *total += half * weight * density[k] * others;
            }
        }
    }
    Ok(best.into_iter().map(|p| p.clamp(0.0, 1.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::normal_chance_to_beat;

    fn sample(n: u64, mean: f64, variance: f64) -> Sample {
        Sample { n, mean, variance }
    }

    #[test]
    fn two_arms_give_the_chance_to_beat() {
        for (a, b) in [
            (sample(1000, 10.0, 25.0), sample(900, 10.4, 30.0)),
            (sample(50, -2.0, 4.0), sample(5_000_000, -1.5, 0.01)),
            (sample(10, 3.0, 1.0), sample(10, 3.0, 1.0)),
        ] {
            let best = normal_chance_to_be_best(&[a, b]).expect("defined");
            let beat = normal_chance_to_beat(&a, &b).expect("defined");
            assert!((best[1] - beat).abs() < 1e-10, "{best:?} vs {beat}");
            assert!((best[0] + best[1] - 1.0).abs() < 1e-10, "{best:?}");
        }
    }

    #[test]
    fn chances_sum_to_one_and_equal_arms_share_equally() {
        let arms = [
            sample(1000, 5.0, 4.0),
            sample(1000, 5.1, 4.0),
            sample(400, 4.9, 9.0),
            sample(10_000_000, 5.05, 1.0),
        ];
        let best = normal_chance_to_be_best(&arms).expect("defined");
        assert!((best.iter().sum::<f64>() - 1.0).abs() < 1e-10, "{best:?}");
        let same = [sample(100, 1.0, 1.0); 4];
        for p in normal_chance_to_be_best(&same).expect("defined") {
            assert!((p - 0.25).abs() < 1e-9, "{p}");
        }
    }

    #[test]
    fn three_arms_match_a_direct_double_integral() {
        // P(arm 2 best) for independent normals by brute force on a fine grid (midpoint rule
        // over ±12 sd of arm 2 with 200 000 points): an independent route to the same number.
        let arms = [
            sample(100, 0.0, 100.0),
            sample(100, 0.5, 25.0),
            sample(100, 0.8, 400.0),
        ];
        let best = normal_chance_to_be_best(&arms).expect("defined");
        let normal = standard_normal();
        let sd: Vec<f64> = arms.iter().map(|a| a.mean_variance().sqrt()).collect();
        let (lo, hi, steps) = (0.8 - 12.0 * sd[2], 0.8 + 12.0 * sd[2], 200_000);
        let h = (hi - lo) / steps as f64;
        let direct: f64 = (0..steps)
            .map(|i| {
                let x = lo + (i as f64 + 0.5) * h;
                let z = (x - 0.8) / sd[2];
                let density = (-0.5 * z * z).exp() / (sd[2] * (2.0 * std::f64::consts::PI).sqrt());
                density * normal.cdf((x - 0.0) / sd[0]) * normal.cdf((x - 0.5) / sd[1]) * h
            })
            .sum();
        assert!((best[2] - direct).abs() < 1e-8, "{} vs {direct}", best[2]);
    }

    #[test]
    fn an_arm_without_variance_or_units_has_no_normal_posterior() {
        assert_eq!(
            normal_chance_to_be_best(&[sample(10, 1.0, 0.0), sample(10, 2.0, 1.0)]),
            Err(Undefined::ZeroVariance)
        );
        assert_eq!(
            normal_chance_to_be_best(&[sample(0, 1.0, 1.0), sample(10, 2.0, 1.0)]),
            Err(Undefined::NoUnits)
        );
    }
}
