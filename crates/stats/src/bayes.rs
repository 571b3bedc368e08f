//! Bayesian chance to beat control and expected loss: exact for rates (Beta posteriors),
//! a normal approximation for continuous metrics. No Monte Carlo: the same input always gives
//! the same digits.

use crate::sample::{Counts, Sample, Undefined};
use crate::welch::standard_normal;
use statrs::distribution::{Continuous, ContinuousCDF};
use statrs::function::beta::ln_beta;

/// P(Y > X) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2), integer parameters, by the closed form
/// (Evan Miller 2014, "Formulas for Bayesian A/B Testing", eq. for P(p_B > p_A)):
/// Σ_{i=0}^{a2−1} B(a1+i, b1+b2) / ((b2+i)·B(1+i, b2)·B(a1, b1)),
/// each term in logs. The sum runs over whichever of the four parameters is smallest, by the
/// symmetries P(Y>X) = 1 − P(X>Y) and P(Y>X) = P(1−X > 1−Y), so its cost is
/// O(min(a1, b1, a2, b2)) log-gamma evaluations: ~1 ms for 3 000 conversions, ~10 ms for
/// 30 000, ~0.35 s for 500 000 (release build).
pub fn beta_prob_greater(a1: u64, b1: u64, a2: u64, b2: u64) -> Result<f64, Undefined> {
    if a1 == 0 || b1 == 0 || a2 == 0 || b2 == 0 {
        return Err(Undefined::InvalidParameter(
            "Beta parameters must be positive",
        ));
    }
    let smallest = a1.min(b1).min(a2).min(b2);
    let p = if smallest == a2 {
        miller_sum(a1, b1, a2, b2)
    } else if smallest == a1 {
        1.0 - miller_sum(a2, b2, a1, b1)
    } else if smallest == b1 {
        miller_sum(b2, a2, b1, a1)
    } else {
        1.0 - miller_sum(b1, a1, b2, a2)
    };
    Ok(p.clamp(0.0, 1.0))
}

/// Evan Miller's sum over the `a2` terms, accumulated with a running log-sum-exp so that tiny
/// terms neither underflow nor lose the large ones.
fn miller_sum(a1: u64, b1: u64, a2: u64, b2: u64) -> f64 {
    let (a1, b1, b2) = (a1 as f64, b1 as f64, b2 as f64);
    let constant = ln_beta(a1, b1);
    let mut max = f64::NEG_INFINITY;
    let mut scaled = 0.0;
    for i in 0..a2 {
        let i = i as f64;
        let term = ln_beta(a1 + i, b1 + b2) - (b2 + i).ln() - ln_beta(1.0 + i, b2) - constant;
        if term > max {
            scaled = scaled * (max - term).exp() + 1.0;
            max = term;
        } else {
            scaled += (term - max).exp();
        }
    }
    (max + scaled.ln()).exp()
}

/// Beta(1 + reached, 1 + units − reached): a uniform prior updated by the counts.
fn posterior(counts: Counts) -> Result<(u64, u64), Undefined> {
    if counts.reached > counts.units {
        return Err(Undefined::InvalidParameter("reached exceeds units"));
    }
    if counts.units == 0 {
        return Err(Undefined::NoUnits);
    }
    Ok((1 + counts.reached, 1 + counts.units - counts.reached))
}

/// Chance that the variant's rate is above the control's, with Beta(1 + x, 1 + n − x)
/// posteriors, exactly ([`beta_prob_greater`]). Undefined for an arm without units.
pub fn beta_chance_to_beat(control: Counts, variant: Counts) -> Result<f64, Undefined> {
    let (a1, b1) = posterior(control)?;
    let (a2, b2) = posterior(variant)?;
    beta_prob_greater(a1, b1, a2, b2)
}

/// Expected loss of choosing the variant, E[max(p_control − p_variant, 0)], exactly, with
/// Beta(1 + x, 1 + n − x) posteriors X (control) and Y (variant).
///
/// Formula (Chris Stucchio 2015, "Bayesian A/B Testing at VWO", §5): with X⁺ ~ Beta(a_X + 1,
/// b_X) and Y⁺ ~ Beta(a_Y + 1, b_Y), E[X·1{X>Y}] = E[X]·P(X⁺ > Y) and E[Y·1{X>Y}] =
/// E[Y]·P(X > Y⁺), so the loss is E[X]·P(X⁺ > Y) − E[Y]·P(X > Y⁺).
pub fn beta_expected_loss(control: Counts, variant: Counts) -> Result<f64, Undefined> {
    let (ax, bx) = posterior(control)?;
    let (ay, by) = posterior(variant)?;
    let mean_x = ax as f64 / (ax + bx) as f64;
    let mean_y = ay as f64 / (ay + by) as f64;
    let x_plus_beats_y = beta_prob_greater(ay, by, ax + 1, bx)?;
    let x_beats_y_plus = beta_prob_greater(ay + 1, by, ax, bx)?;
    Ok((mean_x * x_plus_beats_y - mean_y * x_beats_y_plus).max(0.0))
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
        let p = beta_prob_greater(5, 7, 5, 7).expect("defined");
        assert!((p - 0.5).abs() < 1e-12);
    }

    #[test]
    fn every_symmetric_branch_gives_the_same_probability() {
        // The same pair, routed through each of the four sums by which parameter is smallest.
        let direct = miller_sum(30, 40, 20, 50);
        let via_a1 = 1.0 - miller_sum(20, 50, 30, 40);
        let via_b1 = miller_sum(50, 20, 40, 30);
        let via_b2 = 1.0 - miller_sum(40, 30, 50, 20);
        for other in [via_a1, via_b1, via_b2] {
            assert!((direct - other).abs() < 1e-12, "{direct} vs {other}");
        }
    }

    #[test]
    fn the_two_expected_losses_differ_by_the_difference_of_posterior_means() {
        // max(d, 0) − max(−d, 0) = d, so loss(A→B) − loss(B→A) = E[X] − E[Y].
        let (a, b) = (Counts::new(40, 9), Counts::new(35, 12));
        let forward = beta_expected_loss(a, b).expect("defined");
        let backward = beta_expected_loss(b, a).expect("defined");
        let difference = 10.0 / 42.0 - 13.0 / 37.0;
        assert!((forward - backward - difference).abs() < 1e-12);
        assert_eq!(
            beta_expected_loss(Counts::new(0, 0), b),
            Err(Undefined::NoUnits)
        );
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
