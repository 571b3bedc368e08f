//! Always-valid inference: asymptotic confidence sequences, so a team may look at the results
//! every day without raising the false positive rate above alpha.

use crate::sample::Undefined;
use crate::welch::check_alpha;

/// Default tuning M: the expected total units of the two compared arms.
pub const DEFAULT_TUNING: f64 = 10_000.0;

/// An always-valid interval and p-value for one comparison at one look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialTest {
    pub ci: [f64; 2],
    pub p_value: f64,
    pub half_width: f64,
}

/// ρ² = (−2 ln α + ln(−2 ln α + 1)) / M: the mixing variance that makes the sequence tightest
/// around M total units.
pub fn rho_squared(alpha: f64, tuning: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    (l + (l + 1.0).ln()) / tuning
}

/// Asymptotic confidence sequence for a difference of means (Waudby-Smith, Arnold, Wu, Howard,
/// Ramdas 2023, "Time-uniform central limit theory and asymptotic confidence sequences",
/// Theorem 2.2 with a normal mixture; the form of GrowthBook's gbstats `SequentialTwoSidedTTest`
/// and Eppo's documentation).
///
/// With N = `total_units` of the two arms, se the Welch standard error, s² = N·se²,
/// M = `tuning` and ρ² as [`rho_squared`]:
/// half-width = s·sqrt(2(Nρ²+1)/(N²ρ²) · ln(sqrt(Nρ²+1)/α)),
/// p = min(1, sqrt(Nρ²+1) · exp(−ρ²N·(est/se)² / (2(Nρ²+1)))).
/// The interval excludes 0 exactly when p < α.
pub fn confidence_sequence(
    estimate: f64,
    standard_error: f64,
    total_units: u64,
    alpha: f64,
    tuning: f64,
) -> Result<SequentialTest, Undefined> {
    check_alpha(alpha)?;
    if !(tuning.is_finite() && tuning > 0.0) {
        return Err(Undefined::InvalidParameter(
            "sequential tuning must be positive",
        ));
    }
    if total_units == 0 {
        return Err(Undefined::NoUnits);
    }
    if !(estimate.is_finite() && standard_error.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    if standard_error <= 0.0 {
        return Err(Undefined::ZeroVariance);
    }
    confidence_sequence_at(
        estimate,
        standard_error,
        total_units,
        alpha,
        rho_squared(alpha, tuning),
    )
}

/// The same sequence at another level `alpha` with the mixing variance `rho2` kept (the one
/// tuned for the experiment's alpha): its p-value does not depend on the level, so the
/// interval at level α' excludes 0 exactly when that p-value is below α'. This is the
/// interval shown beside a verdict a multiple-testing correction decided (level α·p/p_adj).
pub fn confidence_sequence_at(
    estimate: f64,
    standard_error: f64,
    total_units: u64,
    alpha: f64,
    rho2: f64,
) -> Result<SequentialTest, Undefined> {
    check_alpha(alpha)?;
    if total_units == 0 {
        return Err(Undefined::NoUnits);
    }
    if !(estimate.is_finite() && standard_error.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    if standard_error <= 0.0 {
        return Err(Undefined::ZeroVariance);
    }
    if !(rho2.is_finite() && rho2 > 0.0) {
        return Err(Undefined::InvalidParameter(
            "sequential mixing variance must be positive",
        ));
    }
    let n = total_units as f64;
    let s2 = n * standard_error * standard_error;
    let nr1 = n * rho2 + 1.0;
    let half_width = (s2 * 2.0 * nr1 / (n * n * rho2) * (nr1.sqrt() / alpha).ln()).sqrt();
    let z = estimate / standard_error;
    // In logs: exp of a large negative number underflows to 0 gracefully; sqrt(Nρ²+1) alone
    // could make the product overflow when N is huge.
    let ln_p = 0.5 * nr1.ln() - rho2 * n * z * z / (2.0 * nr1);
    let p_value = ln_p.exp().min(1.0);
    let ci = [estimate - half_width, estimate + half_width];
    if half_width.is_finite() && p_value.is_finite() {
        Ok(SequentialTest {
            ci,
            p_value,
            half_width,
        })
    } else {
        Err(Undefined::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_excludes_zero_exactly_when_its_p_value_is_below_alpha() {
        for estimate in [0.001, 0.01, 0.02, 0.025, 0.03, 0.05] {
            let test =
                confidence_sequence(estimate, 0.01, 20_000, 0.05, DEFAULT_TUNING).expect("defined");
            assert_eq!(test.ci[0] > 0.0, test.p_value < 0.05, "estimate {estimate}");
        }
    }

    #[test]
    fn the_sequence_is_wider_than_the_fixed_horizon_interval() {
        let test = confidence_sequence(0.0, 0.01, 20_000, 0.05, DEFAULT_TUNING).expect("defined");
        assert!(test.half_width > 1.96 * 0.01);
    }

    #[test]
    fn degenerate_inputs_are_undefined_not_infinite() {
        assert_eq!(
            confidence_sequence(0.1, 0.0, 100, 0.05, DEFAULT_TUNING),
            Err(Undefined::ZeroVariance)
        );
        assert_eq!(
            confidence_sequence(0.1, 0.1, 0, 0.05, DEFAULT_TUNING),
            Err(Undefined::NoUnits)
        );
        assert!(confidence_sequence(0.1, 0.1, 100, 0.05, 0.0).is_err());
        let huge = confidence_sequence(1.0, 1e-9, u64::MAX, 0.05, 1.0).expect("defined");
        assert_eq!(huge.p_value, 0.0);
    }
}
