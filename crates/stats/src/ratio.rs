//! Fieller's interval for the relative effect B/A − 1 of two independent means: the set of
//! ratios θ that a z- or t-test of `m_B − θ·m_A = 0` does not reject. At θ = 1 that test *is*
//! the absolute test (Welch's t, or the always-valid z of the confidence sequence) with the
//! same quantile, so the relative interval excludes 0 exactly when the absolute one does —
//! the property the delta method lacks (decision 017).

use crate::sample::Undefined;

/// Fieller (1954), "Some problems in interval estimation": with means m_A, m_B, squared
/// standard errors v_A, v_B and critical value `q`, the interval for θ = m_B/m_A is
/// {θ : (m_B − θ·m_A)² ≤ q²·(v_B + θ²·v_A)}, i.e. the roots of
/// θ²(m_A² − q²v_A) − 2θ·m_A·m_B + (m_B² − q²v_B) = 0:
/// θ = (m_A·m_B ± q·sqrt(m_A²·v_B + m_B²·v_A − q²·v_A·v_B)) / (m_A² − q²·v_A).
/// Returned as θ − 1, computed from m_B − m_A so that a small effect keeps its digits.
///
/// Undefined when m_A ≤ 0 (a relative effect needs a positive baseline), when
/// m_A² ≤ q²·v_A (control's mean is not distinguishable from 0 at this level: the set is
/// unbounded), and when the interval would have zero width (no variance left in the ratio,
/// e.g. a variant without any event) — never a point presented as an interval.
pub fn fieller_relative(
    control_mean: f64,
    control_var: f64,
    variant_mean: f64,
    variant_var: f64,
    q: f64,
) -> Result<[f64; 2], Undefined> {
    let (ma, va, mb, vb) = (control_mean, control_var, variant_mean, variant_var);
    if ![ma, va, mb, vb, q].iter().all(|x| x.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    // θ is unchanged when every value is divided by k (means by k, variances by k²); this
    // keeps the products below from overflowing or underflowing.
    let k = ma.abs().max(mb.abs()).max(va.sqrt()).max(vb.sqrt());
    if k.is_nan() || k <= 0.0 {
        return Err(Undefined::ZeroWidthRatio);
    }
    let (ma, mb, va, vb) = (ma / k, mb / k, va / (k * k), vb / (k * k));
    if ma <= 0.0 {
        return Err(Undefined::ControlMeanNotPositive);
    }
    let q2 = q * q;
    let leading = ma * ma - q2 * va;
    if leading <= 0.0 {
        return Err(Undefined::UnboundedRatio);
    }
    let discriminant = ma * ma * vb + mb * mb * va - q2 * va * vb;
    if discriminant <= 0.0 {
        return Err(Undefined::ZeroWidthRatio);
    }
    let centre = ma * (mb - ma) + q2 * va;
    let half = q * discriminant.sqrt();
    let interval = [(centre - half) / leading, (centre + half) / leading];
    if interval.iter().all(|x| x.is_finite()) && interval[0] < interval[1] {
        Ok(interval)
    } else {
        Err(Undefined::NotFinite)
    }
}

/// Fieller's interval for r = D/m when the numerator D (a difference) and the denominator m
/// are correlated — CUPED's relative effect, the adjusted difference over control's observed
/// mean (decision 023): {r : (D − r·m)² ≤ q²·(V_D + r²·V_m − 2r·C)} with C = Cov(D, m), i.e.
/// the roots of r²(m² − q²V_m) − 2r(D·m − q²C) + (D² − q²V_D) = 0:
/// r = (D·m − q²C ± q·sqrt(m²V_D + D²V_m − 2D·m·C − q²(V_m·V_D − C²))) / (m² − q²V_m).
/// At r = 0 the test is the absolute one, so the interval excludes 0 exactly when the absolute
/// interval with the same `q` does. With independent arms (D = m_B − m_A, C = −v_A) this is
/// [`fieller_relative`]. Undefined in the same cases.
pub fn fieller_difference_ratio(
    difference: f64,
    difference_var: f64,
    base: f64,
    base_var: f64,
    covariance: f64,
    q: f64,
) -> Result<[f64; 2], Undefined> {
    let (d, vd, m, vm, c) = (difference, difference_var, base, base_var, covariance);
    if ![d, vd, m, vm, c, q].iter().all(|x| x.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    // r is unchanged when means are divided by k and (co)variances by k².
    let k = m.abs().max(d.abs()).max(vm.sqrt()).max(vd.sqrt());
    if k.is_nan() || k <= 0.0 {
        return Err(Undefined::ZeroWidthRatio);
    }
    let (d, m, vd, vm, c) = (d / k, m / k, vd / (k * k), vm / (k * k), c / (k * k));
    if m <= 0.0 {
        return Err(Undefined::ControlMeanNotPositive);
    }
    let q2 = q * q;
    let leading = m * m - q2 * vm;
    if leading <= 0.0 {
        return Err(Undefined::UnboundedRatio);
    }
    let discriminant = m * m * vd + d * d * vm - 2.0 * d * m * c - q2 * (vm * vd - c * c);
    if discriminant <= 0.0 {
        return Err(Undefined::ZeroWidthRatio);
    }
    let centre = d * m - q2 * c;
    let half = q * discriminant.sqrt();
    let interval = [(centre - half) / leading, (centre + half) / leading];
    if interval.iter().all(|x| x.is_finite()) && interval[0] < interval[1] {
        Ok(interval)
    } else {
        Err(Undefined::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_excludes_zero_exactly_when_the_absolute_z_exceeds_q() {
        // 50 vs 50 units, 7 vs 3 conversions: the delta method excluded 0, Welch did not.
        let (ma, mb): (f64, f64) = (7.0 / 50.0, 3.0 / 50.0);
        let va = ma * (1.0 - ma) / 49.0;
        let vb = mb * (1.0 - mb) / 49.0;
        let z = (mb - ma) / (va + vb).sqrt();
        for q in [1.0, 1.2, z.abs() - 1e-6, z.abs() + 1e-6, 1.96, 2.5] {
            match fieller_relative(ma, va, mb, vb, q) {
                Ok([lo, hi]) => assert_eq!(lo > 0.0 || hi < 0.0, z.abs() > q, "q {q}"),
                Err(why) => assert_eq!(why, Undefined::UnboundedRatio),
            }
        }
    }

    #[test]
    fn with_independent_arms_the_correlated_form_is_the_plain_one() {
        let (ma, va, mb, vb, q) = (0.14, 0.0024, 0.06, 0.0011, 1.7);
        let plain = fieller_relative(ma, va, mb, vb, q).expect("bounded");
        let general = fieller_difference_ratio(mb - ma, va + vb, ma, va, -va, q).expect("bounded");
        for (p, g) in plain.iter().zip(general) {
            assert!((p - g).abs() < 1e-12, "{plain:?} vs {general:?}");
        }
    }

    #[test]
    fn the_correlated_interval_excludes_zero_exactly_when_the_absolute_test_rejects() {
        let (d, vd, m, vm, c): (f64, f64, f64, f64, f64) = (0.9, 0.04, 20.0, 0.5, -0.08);
        let z = d / vd.sqrt();
        for q in [1.0, z - 1e-6, z + 1e-6, 6.0] {
            let [lo, hi] = fieller_difference_ratio(d, vd, m, vm, c, q).expect("bounded");
            assert_eq!(lo > 0.0, z > q, "q {q}");
            assert!(lo < d / m && d / m < hi);
        }
    }

    #[test]
    fn degenerate_ratios_say_why() {
        assert_eq!(
            fieller_relative(-2.0, 0.01, -1.5, 0.01, 1.96),
            Err(Undefined::ControlMeanNotPositive)
        );
        assert_eq!(
            fieller_relative(0.01, 0.01, 0.5, 0.01, 1.96),
            Err(Undefined::UnboundedRatio)
        );
        assert_eq!(
            fieller_relative(0.1, 0.001, 0.0, 0.0, 1.96),
            Err(Undefined::ZeroWidthRatio)
        );
    }
}
