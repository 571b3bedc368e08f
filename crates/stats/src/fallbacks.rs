//! Whether a variant's plugin calls fall back to the safe default more often than control's:
//! the built-in plugin-health guardrail's test. Calls are 0/1 observations (fell back or
//! not); the difference of the two shares gets an always-valid interval, so a checker that
//! looks every minute keeps its error rate.

use crate::sample::{Counts, Undefined};
use crate::sequential::{SequentialTest, confidence_sequence};

/// The variant's fallback share minus control's, with its always-valid interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShareDifference {
    /// fallbacks / calls of the variant minus control's, unadjusted.
    pub estimate: f64,
    /// Centred on the Agresti–Caffo adjusted difference.
    pub sequential: SequentialTest,
}

/// The fallback shares of `variant` and `control` compared (`Counts`: units = calls,
/// reached = fallbacks).
///
/// Agresti & Caffo (2000, "Simple and effective confidence intervals for proportions and
/// differences of proportions result from adding two successes and two failures", The
/// American Statistician 54(4)) add one fallback and one success to each arm:
/// p̃ = (x + 1)/(n + 2), se = sqrt(p̃c(1 − p̃c)/(nc + 2) + p̃v(1 − p̃v)/(nv + 2)); the interval
/// is the confidence sequence of [`confidence_sequence`] around p̃v − p̃c with N = nc + nv.
/// The adjustment matters where the plain Wald form fails: a plugin that always fails for one
/// variant and never for control has zero variance in both arms, yet the difference is
/// certain. statsmodels' `confint_proportions_2indep(method="agresti-caffo")` uses the same
/// adjusted estimate and standard error (checked in the reference cases).
pub fn share_difference(
    control: Counts,
    variant: Counts,
    alpha: f64,
    tuning: f64,
) -> Result<ShareDifference, Undefined> {
    if control.units == 0 || variant.units == 0 {
        return Err(Undefined::NoUnits);
    }
    if control.reached > control.units || variant.reached > variant.units {
        return Err(Undefined::InvalidParameter(
            "more fallbacks than calls in an arm",
        ));
    }
    let adjusted = |arm: Counts| {
        let n = arm.units as f64 + 2.0;
        let p = (arm.reached as f64 + 1.0) / n;
        (p, p * (1.0 - p) / n)
    };
    let (control_share, control_variance) = adjusted(control);
    let (variant_share, variant_variance) = adjusted(variant);
    let standard_error = (control_variance + variant_variance).sqrt();
    let total = control.units.saturating_add(variant.units);
    let sequential = confidence_sequence(
        variant_share - control_share,
        standard_error,
        total,
        alpha,
        tuning,
    )?;
    let share = |arm: Counts| arm.reached as f64 / arm.units as f64;
    Ok(ShareDifference {
        estimate: share(variant) - share(control),
        sequential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequential::DEFAULT_TUNING;

    #[test]
    fn a_variant_that_always_falls_back_against_a_control_that_never_does_is_defined() {
        let test = share_difference(
            Counts::new(60, 0),
            Counts::new(60, 60),
            0.05,
            DEFAULT_TUNING,
        )
        .expect("defined despite zero variance in both arms");
        assert_eq!(test.estimate, 1.0);
        assert!(test.sequential.ci[0] > 0.0, "{test:?}");
    }

    #[test]
    fn equal_shares_straddle_zero_and_arms_without_calls_are_undefined() {
        let test = share_difference(
            Counts::new(500, 5),
            Counts::new(500, 5),
            0.05,
            DEFAULT_TUNING,
        )
        .expect("defined");
        assert_eq!(test.estimate, 0.0);
        assert!(test.sequential.ci[0] < 0.0 && test.sequential.ci[1] > 0.0);
        assert_eq!(
            share_difference(Counts::new(0, 0), Counts::new(5, 1), 0.05, DEFAULT_TUNING),
            Err(Undefined::NoUnits)
        );
        assert!(
            share_difference(Counts::new(5, 6), Counts::new(5, 1), 0.05, DEFAULT_TUNING).is_err()
        );
    }
}
