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
