//! Planning: units per variant needed to detect a relative lift of a rate, and the smallest lift
//! the current sample can detect — how far along a test is.

use crate::sample::Undefined;
use crate::welch::{check_alpha, z_quantile};

/// The sample size formula before rounding up; `None` outside its domain.
fn raw_sample_size(baseline: f64, mde: f64, z_alpha: f64, z_beta: f64) -> Option<f64> {
    let p1 = baseline;
    let p2 = baseline * (1.0 + mde);
    if !(p1 > 0.0 && p1 < 1.0 && p2 > 0.0 && p2 < 1.0) || p2 == p1 {
        return None;
    }
    let pooled = (p1 + p2) / 2.0;
    let numerator = z_alpha * (2.0 * pooled * (1.0 - pooled)).sqrt()
        + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = numerator * numerator / ((p2 - p1) * (p2 - p1));
    n.is_finite().then_some(n)
}

fn quantiles(alpha: f64, power: f64) -> Result<(f64, f64), Undefined> {
    check_alpha(alpha)?;
    if !(power > 0.0 && power < 1.0) {
        return Err(Undefined::InvalidParameter("power must be in (0, 1)"));
    }
    Ok((z_quantile(1.0 - alpha / 2.0), z_quantile(power)))
}

/// Units per variant to detect p2 = p1·(1 + mde) with a two-sided test at `alpha` and the
/// given `power`, by the classic unpooled-alternative formula (Fleiss, Levin & Paik 2003,
/// "Statistical Methods for Rates and Proportions", eq. 4.14, without continuity correction):
/// n = ⌈(z₁₋α/₂·sqrt(2p̄(1−p̄)) + z₁₋β·sqrt(p1(1−p1) + p2(1−p2)))² / (p2 − p1)²⌉,
/// p̄ = (p1 + p2)/2. Undefined unless 0 < p1, p2 < 1 and mde ≠ 0.
pub fn sample_size_per_variant(
    baseline: f64,
    mde: f64,
    alpha: f64,
    power: f64,
) -> Result<u64, Undefined> {
    let (z_alpha, z_beta) = quantiles(alpha, power)?;
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(Undefined::InvalidParameter(
            "baseline rate must be in (0, 1)",
        ));
    }
    let n = raw_sample_size(baseline, mde, z_alpha, z_beta).ok_or(Undefined::InvalidParameter(
        "mde must be non-zero and keep baseline·(1 + mde) in (0, 1)",
    ))?;
    Ok(n.ceil() as u64)
}

/// Units per variant with CUPED when the covariate correlates with the outcome by
/// `correlation` ρ: the adjusted variance is (1 − ρ²) of the unadjusted one (Deng et al.
/// 2013, eq. 4), so the same power needs ⌈n·(1 − ρ²)⌉ units. ρ must be in [0, 1): a perfect
/// predictor would leave nothing to measure.
pub fn with_correlation(units_per_variant: u64, correlation: f64) -> Result<u64, Undefined> {
    if !(0.0..1.0).contains(&correlation) {
        return Err(Undefined::InvalidParameter("correlation must be in [0, 1)"));
    }
    Ok((units_per_variant as f64 * (1.0 - correlation * correlation)).ceil() as u64)
}

/// The smallest positive relative lift detectable with `units_per_variant` units per arm: the
/// `mde` at which the formula of [`sample_size_per_variant`] (before rounding) equals the
/// sample, found by bisection (the required n falls as the lift grows). Undefined when even
/// p2 → 1 needs more units.
pub fn reachable_mde(
    baseline: f64,
    units_per_variant: u64,
    alpha: f64,
    power: f64,
) -> Result<f64, Undefined> {
    let (z_alpha, z_beta) = quantiles(alpha, power)?;
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(Undefined::InvalidParameter(
            "baseline rate must be in (0, 1)",
        ));
    }
    if units_per_variant == 0 {
        return Err(Undefined::NoUnits);
    }
    let n = units_per_variant as f64;
    let needed = |mde: f64| raw_sample_size(baseline, mde, z_alpha, z_beta);
    let mut high = (1.0 / baseline - 1.0) * (1.0 - 1e-12);
    match needed(high) {
        Some(at_most) if at_most <= n => {}
        _ => return Err(Undefined::NotReachable),
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        match needed(mid) {
            Some(required) if required <= n => high = mid,
            _ => low = mid,
        }
        if high - low <= 1e-14 * high {
            break;
        }
    }
    Ok(high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reachable_mde_of_the_planned_sample_is_the_planned_mde() {
        let n = sample_size_per_variant(0.1, 0.05, 0.05, 0.8).expect("defined");
        let mde = reachable_mde(0.1, n, 0.05, 0.8).expect("defined");
        assert!(mde <= 0.05 && mde > 0.0499, "{mde}");
    }

    #[test]
    fn impossible_plans_are_undefined() {
        assert!(sample_size_per_variant(0.0, 0.05, 0.05, 0.8).is_err());
        assert!(sample_size_per_variant(0.6, 1.0, 0.05, 0.8).is_err());
        assert!(sample_size_per_variant(0.1, 0.0, 0.05, 0.8).is_err());
        assert!(sample_size_per_variant(0.1, 0.05, 0.05, 1.0).is_err());
        assert_eq!(
            reachable_mde(0.001, 1, 0.05, 0.8),
            Err(Undefined::NotReachable)
        );
        assert_eq!(reachable_mde(0.1, 0, 0.05, 0.8), Err(Undefined::NoUnits));
    }
}
