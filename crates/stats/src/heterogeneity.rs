//! Cochran's Q: does an effect differ between slices (devices, countries)? One test instead of
//! a row of intervals compared by eye.

use crate::sample::Undefined;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// One slice's effect (variant − control) and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceEffect {
    pub estimate: f64,
    pub standard_error: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CochranQ {
    pub q: f64,
    /// k − 1 over the k slices that entered.
    pub df: u64,
    /// P(χ²_df > Q).
    pub p_value: f64,
    /// d̄ = Σwᵢdᵢ / Σwᵢ, the fixed-effect (inverse-variance) mean of the slices' effects.
    pub pooled_estimate: f64,
    /// The share of the variation between slices beyond chance, I² = max(0, (Q − df)/Q)
    /// (Higgins & Thompson 2002); 0 when Q = 0.
    pub i_squared: f64,
    /// Positions in the input of the slices that entered (positive, finite standard error and
    /// finite estimate), in input order.
    pub included: Vec<usize>,
}

/// Cochran's Q test of homogeneity (Cochran 1954), as in a fixed-effect meta-analysis:
/// wᵢ = 1/seᵢ², d̄ = Σwᵢdᵢ / Σwᵢ, Q = Σwᵢ(dᵢ − d̄)², df = k − 1, p = P(χ²_df > Q), over the k
/// slices whose standard error is positive (a slice with no variance carries no weight to
/// speak of). Matches `statsmodels.stats.meta_analysis.combine_effects(d, se**2).q` with
/// `scipy.stats.chi2.sf(q, k - 1)`, and the published worked examples of Borenstein et al.
/// (2009) and Viechtbauer (2010) (`tests/reference/generate_segments.py`).
/// Undefined with fewer than two such slices.
pub fn cochran_q(effects: &[SliceEffect]) -> Result<CochranQ, Undefined> {
    let included: Vec<usize> = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.estimate.is_finite() && e.standard_error.is_finite() && e.standard_error > 0.0
        })
        .map(|(i, _)| i)
        .collect();
    if included.len() < 2 {
        return Err(Undefined::TooFewSlices);
    }
    let weighted: Vec<(f64, f64)> = included
        .iter()
        .map(|&i| {
            let e = effects[i];
            (1.0 / (e.standard_error * e.standard_error), e.estimate)
        })
        .collect();
    let total_weight: f64 = weighted.iter().map(|(w, _)| w).sum();
    let pooled_estimate = weighted.iter().map(|(w, d)| w * d).sum::<f64>() / total_weight;
    let q: f64 = weighted
        .iter()
        .map(|(w, d)| w * (d - pooled_estimate).powi(2))
        .sum();
    let df = included.len() as u64 - 1;
    let p_value = ChiSquared::new(df as f64)
        .map_err(|_| Undefined::InvalidParameter("degrees of freedom"))?
        .sf(q);
    let i_squared = if q > 0.0 {
        ((q - df as f64) / q).max(0.0)
    } else {
        0.0
    };
    if [q, p_value, pooled_estimate, i_squared]
        .iter()
        .all(|x| x.is_finite())
    {
        Ok(CochranQ {
            q,
            df,
            p_value,
            pooled_estimate,
            i_squared,
            included,
        })
    } else {
        Err(Undefined::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(estimate: f64, standard_error: f64) -> SliceEffect {
        SliceEffect {
            estimate,
            standard_error,
        }
    }

    #[test]
    fn fewer_than_two_slices_with_a_standard_error_leave_q_undefined() {
        assert_eq!(cochran_q(&[]), Err(Undefined::TooFewSlices));
        assert_eq!(
            cochran_q(&[effect(0.1, 0.02), effect(0.3, 0.0), effect(f64::NAN, 0.1)]),
            Err(Undefined::TooFewSlices)
        );
    }

    #[test]
    fn two_slices_reduce_to_the_squared_z_of_their_difference() {
        // With k = 2, Q = (d₁ − d₂)² / (se₁² + se₂²): the z-test of the difference, squared.
        let test = cochran_q(&[effect(0.03, 0.01), effect(0.0, 0.02)]).expect("defined");
        let z2 = 0.03_f64.powi(2) / (0.01_f64.powi(2) + 0.02_f64.powi(2));
        assert!((test.q - z2).abs() < 1e-12, "{test:?}");
        assert_eq!(test.df, 1);
        assert_eq!(test.included, vec![0, 1]);
    }

    #[test]
    fn slices_without_a_standard_error_are_left_out_of_q_and_df() {
        let test = cochran_q(&[effect(0.01, 0.01), effect(5.0, 0.0), effect(0.02, 0.01)])
            .expect("defined");
        assert_eq!(test.df, 1);
        assert_eq!(test.included, vec![0, 2]);
        assert!((test.pooled_estimate - 0.015).abs() < 1e-15);
    }
}
