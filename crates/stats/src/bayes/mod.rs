//! Bayesian chance to beat control, expected loss and chance to be best: Beta posteriors for
//! rates by quadrature in bounded time at any traffic (decision 017), a normal approximation
//! for continuous metrics. No Monte Carlo: the same input always gives the same digits.

use crate::sample::{Counts, Sample, Undefined};
use crate::welch::standard_normal;
use statrs::distribution::{Continuous, ContinuousCDF};

mod integrals;
mod logit_beta;
mod normal_best;
mod partition;
mod quadrature;

pub use normal_best::normal_chance_to_be_best;

use integrals::Grid;

/// P(Y > X) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2), parameters ≥ 1 (any size up to 2⁶⁴),
/// by quadrature on the logit scale ([`integrals`]): absolute error below 1e-9 on the
/// reference grid of decision 017, in time independent of the parameters.
pub fn beta_prob_greater(a1: f64, b1: f64, a2: f64, b2: f64) -> Result<f64, Undefined> {
    check_parameters(&[(a1, b1), (a2, b2)])?;
    Ok(Grid::new(&[(a1, b1), (a2, b2)]).chance_greater(0, 1))
}

fn check_parameters(params: &[(f64, f64)]) -> Result<(), Undefined> {
    if params
        .iter()
        .all(|&(a, b)| a.is_finite() && b.is_finite() && a >= 1.0 && b >= 1.0)
    {
        Ok(())
    } else {
        Err(Undefined::InvalidParameter(
            "Beta parameters must be at least 1",
        ))
    }
}

/// Beta(1 + reached, 1 + units − reached): a uniform prior updated by the counts. In u128 so
/// that 2⁶⁴ − 1 units cannot overflow.
fn posterior(counts: Counts) -> Result<(f64, f64), Undefined> {
    if counts.reached > counts.units {
        return Err(Undefined::InvalidParameter("reached exceeds units"));
    }
    if counts.units == 0 {
        return Err(Undefined::NoUnits);
    }
    let reached = u128::from(counts.reached);
    let units = u128::from(counts.units);
    Ok(((1 + reached) as f64, (1 + units - reached) as f64))
}

/// Chance to beat and expected losses of one variant against control, from one quadrature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaComparison {
    /// P(p_variant > p_control).
    pub variant_higher: f64,
    /// E[max(p_control − p_variant, 0)]: the loss of choosing the variant when higher is
    /// better.
    pub loss_if_higher_is_better: f64,
    /// E[max(p_variant − p_control, 0)]: the loss of choosing the variant when lower is
    /// better.
    pub loss_if_lower_is_better: f64,
}

/// Both Bayesian numbers of a rate comparison with Beta(1 + x, 1 + n − x) posteriors, by
/// quadrature ([`integrals`]): chance to absolute error ≤ 1e-6 and loss to relative error
/// ≤ 1e-4 (or absolute ≤ 1e-12), checked against mpmath at 50 digits (decision 017).
/// The loss is ∫ P(Y < t)·P(X > t) dt — a sum of non-negative terms, so a tiny loss keeps its
/// digits (the closed form E[X]·P(X⁺ > Y) − E[Y]·P(X > Y⁺) subtracts nearly equal numbers).
pub fn beta_comparison(control: Counts, variant: Counts) -> Result<BetaComparison, Undefined> {
    let grid = Grid::new(&[posterior(control)?, posterior(variant)?]);
    Ok(BetaComparison {
        variant_higher: grid.chance_greater(0, 1),
        loss_if_higher_is_better: grid.expected_excess(0, 1),
        loss_if_lower_is_better: grid.expected_excess(1, 0),
    })
}

/// Chance that the variant's rate is above the control's ([`beta_comparison`]).
pub fn beta_chance_to_beat(control: Counts, variant: Counts) -> Result<f64, Undefined> {
    Ok(beta_comparison(control, variant)?.variant_higher)
}

/// Expected loss of choosing the variant, E[max(p_control − p_variant, 0)]
/// ([`beta_comparison`]).
pub fn beta_expected_loss(control: Counts, variant: Counts) -> Result<f64, Undefined> {
    Ok(beta_comparison(control, variant)?.loss_if_higher_is_better)
}

/// Chance that each arm has the highest rate of all, P(p_k = max_j p_j) = ∫ g_k·Π_{j≠k} F_j,
/// on the same partition ([`integrals`]); the chances sum to 1 up to the quadrature error.
pub fn beta_chance_to_be_best(arms: &[Counts]) -> Result<Vec<f64>, Undefined> {
    if arms.is_empty() {
        return Err(Undefined::NoUnits);
    }
    let params = arms
        .iter()
        .map(|&counts| posterior(counts))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(&params);
    Ok((0..arms.len()).map(|k| grid.chance_best(k)).collect())
}

/// Chance that the variant's mean is above the control's, by the normal approximation with a
/// flat prior: mean_i ~ N(m_i, s_i²/n_i), so P = Φ((m_B − m_A)/se) with the Welch se.
pub fn normal_chance_to_beat(control: &Sample, variant: &Sample) -> Result<f64, Undefined> {
    let (mu, sigma) = difference(control, variant)?;
    Ok(standard_normal().cdf(mu / sigma))
}

/// Expected loss of choosing the variant, E[max(m_A − m_B, 0)], under the same normal
/// approximation: for D = m_A − m_B ~ N(μ, σ²), E[max(D, 0)] = μ·Φ(μ/σ) + σ·φ(μ/σ).
pub fn normal_expected_loss(control: &Sample, variant: &Sample) -> Result<f64, Undefined> {
    let (mu, sigma) = difference(control, variant)?;
    let mu = -mu;
    let normal = standard_normal();
    let loss = mu * normal.cdf(mu / sigma) + sigma * normal.pdf(mu / sigma);
    Ok(loss.max(0.0))
}

/// (m_B − m_A, se) of the posterior difference.
fn difference(control: &Sample, variant: &Sample) -> Result<(f64, f64), Undefined> {
    if control.n == 0 || variant.n == 0 {
        return Err(Undefined::NoUnits);
    }
    let sigma = (control.mean_variance() + variant.mean_variance()).sqrt();
    if sigma.is_nan() || sigma <= 0.0 {
        return Err(Undefined::ZeroVariance);
    }
    let mu = variant.mean - control.mean;
    if mu.is_finite() && sigma.is_finite() {
        Ok((mu, sigma))
    } else {
        Err(Undefined::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_posteriors_are_a_coin_flip() {
        let p = beta_prob_greater(5.0, 7.0, 5.0, 7.0).expect("defined");
        assert!((p - 0.5).abs() < 1e-12);
        let huge = 1e18;
        let p = beta_prob_greater(huge, 3.0 * huge, huge, 3.0 * huge).expect("defined");
        assert!((p - 0.5).abs() < 1e-12);
    }

    #[test]
    fn small_posteriors_match_the_exact_sum() {
        // Evan Miller's closed form for integer parameters: P(Y > X) =
        // Σ_{i<a2} B(a1+i, b1+b2)/((b2+i)·B(1+i, b2)·B(a1, b1)).
        use statrs::function::beta::ln_beta;
        let exact = |a1: f64, b1: f64, a2: u32, b2: f64| {
            (0..a2)
                .map(|i| {
                    let i = f64::from(i);
                    (ln_beta(a1 + i, b1 + b2)
                        - (b2 + i).ln()
                        - ln_beta(1.0 + i, b2)
                        - ln_beta(a1, b1))
                    .exp()
                })
                .sum::<f64>()
        };
        for (a1, b1, a2, b2) in [
            (1.0, 1.0, 1, 1.0),
            (3.0, 40.0, 7, 35.0),
            (30.0, 40.0, 20, 50.0),
            (2.0, 500.0, 9, 800.0),
        ] {
            let ours = beta_prob_greater(a1, b1, f64::from(a2), b2).expect("defined");
            let theirs = exact(a1, b1, a2, b2);
            assert!(
                (ours - theirs).abs() < 1e-10,
                "{a1} {b1} {a2} {b2}: {ours} vs {theirs}"
            );
        }
    }

    #[test]
    fn the_two_expected_losses_differ_by_the_difference_of_posterior_means() {
        // max(d, 0) − max(−d, 0) = d, so loss(A→B) − loss(B→A) = E[X] − E[Y].
        let (a, b) = (Counts::new(40, 9), Counts::new(35, 12));
        let both = beta_comparison(a, b).expect("defined");
        let difference = 10.0 / 42.0 - 13.0 / 37.0;
        assert!(
            (both.loss_if_higher_is_better - both.loss_if_lower_is_better - difference).abs()
                < 1e-12
        );
        let forward = beta_expected_loss(a, b).expect("defined");
        let backward = beta_expected_loss(b, a).expect("defined");
        assert!((forward - backward - difference).abs() < 1e-12);
        assert_eq!(
            beta_expected_loss(Counts::new(0, 0), b),
            Err(Undefined::NoUnits)
        );
    }

    #[test]
    fn chances_to_be_best_sum_to_one_and_match_the_pair() {
        let arms = [
            Counts::new(1000, 100),
            Counts::new(1000, 120),
            Counts::new(900, 95),
        ];
        let best = beta_chance_to_be_best(&arms).expect("defined");
        assert!((best.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let two = beta_chance_to_be_best(&arms[..2]).expect("defined");
        let pair = beta_chance_to_beat(arms[0], arms[1]).expect("defined");
        assert!((two[1] - pair).abs() < 1e-10);
    }

    #[test]
    fn a_variant_without_variance_has_no_normal_posterior() {
        let a = Sample {
            n: 10,
            mean: 1.0,
            variance: 0.0,
        };
        assert_eq!(normal_chance_to_beat(&a, &a), Err(Undefined::ZeroVariance));
    }
}
