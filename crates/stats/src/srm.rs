//! Sample-ratio mismatch: do the exposed units per variant fit the configured weights? A
//! mismatch means assignment or logging is broken, and no effect can be trusted.

use crate::sample::Undefined;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// p-value below which the split is flagged as a mismatch (the threshold Microsoft's ExP and
/// GrowthBook use: a real mismatch is rarely subtle, false alarms must be rare).
pub const SRM_THRESHOLD: f64 = 0.001;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrmTest {
    pub chi_square: f64,
    pub df: u64,
    pub p_value: f64,
    /// p < [`SRM_THRESHOLD`].
    pub mismatch: bool,
}

/// Pearson's chi-square goodness of fit of `units` against `weights` (normalized here):
/// e_i = N·w_i, χ² = Σ(o_i − e_i)²/e_i, df = k − 1, p = P(χ²_df > χ²). Matches
/// `scipy.stats.chisquare(units, f_exp=N·w)`.
pub fn srm(units: &[u64], weights: &[f64]) -> Result<SrmTest, Undefined> {
    if units.len() != weights.len() || units.len() < 2 {
        return Err(Undefined::InvalidParameter(
            "one weight per variant, at least two variants",
        ));
    }
    if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return Err(Undefined::InvalidParameter("weights must be positive"));
    }
    let total: f64 = units.iter().map(|&u| u as f64).sum();
    if total == 0.0 {
        return Err(Undefined::NoUnits);
    }
    let weight_total: f64 = weights.iter().sum();
    let chi_square: f64 = units
        .iter()
        .zip(weights)
        .map(|(&observed, weight)| {
            let expected = total * weight / weight_total;
            let gap = observed as f64 - expected;
            gap * gap / expected
        })
        .sum();
    let df = units.len() as u64 - 1;
    let p_value = ChiSquared::new(df as f64)
        .map_err(|_| Undefined::InvalidParameter("degrees of freedom"))?
        .sf(chi_square);
    if !(chi_square.is_finite() && p_value.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    Ok(SrmTest {
        chi_square,
        df,
        p_value,
        mismatch: p_value < SRM_THRESHOLD,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_matching_the_weights_is_no_mismatch() {
        let test = srm(&[500, 500], &[1.0, 1.0]).expect("defined");
        assert_eq!(test.chi_square, 0.0);
        assert_eq!(test.p_value, 1.0);
        assert!(!test.mismatch);
    }

    #[test]
    fn a_lopsided_split_is_flagged() {
        let test = srm(&[5_300, 4_700], &[0.5, 0.5]).expect("defined");
        assert!(test.mismatch);
    }

    #[test]
    fn no_units_or_bad_weights_are_undefined() {
        assert_eq!(srm(&[0, 0], &[0.5, 0.5]), Err(Undefined::NoUnits));
        assert!(srm(&[1, 2], &[0.5, 0.0]).is_err());
        assert!(srm(&[1], &[1.0]).is_err());
    }
}
