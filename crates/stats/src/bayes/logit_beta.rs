//! The density of logit(X) for X ~ Beta(a, b), in a form that keeps its digits at any size:
//! from 1 unit to 2⁶⁴ units, the log-density is a sum of O(1) terms, never the difference of
//! two numbers of size a·ln x (decision 017).

use statrs::function::gamma::ln_gamma;

/// ½·ln(2π).
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// Stirling's correction ln Γ(z) − [(z − ½)·ln z − z + ½·ln 2π], for z ≥ 1. Below 15 from
/// ln Γ itself (all terms O(10), so no digits are lost); from 15 by the asymptotic series
/// 1/(12z) − 1/(360z³) + 1/(1260z⁵) − 1/(1680z⁷) + 1/(1188z⁹), whose first omitted term is
/// below 1e-16 there (Abramowitz & Stegun 6.1.41).
pub(crate) fn stirling_correction(z: f64) -> f64 {
    if z < 15.0 {
        return ln_gamma(z) - ((z - 0.5) * z.ln() - z + HALF_LN_TWO_PI);
    }
    let w = 1.0 / (z * z);
    (1.0 / 12.0 + w * (-1.0 / 360.0 + w * (1.0 / 1260.0 + w * (-1.0 / 1680.0 + w / 1188.0)))) / z
}

/// e^x − 1 − x without cancellation near 0.
fn exp_minus_one_minus(x: f64) -> f64 {
    if x.abs() < 0.5 {
        // Σ_{k≥2} x^k/k!: 20 terms reach 0.5²⁰/20! ≪ 1e-16 of the first.
        let mut term = x * x / 2.0;
        let mut sum = term;
        for k in 3..22 {
            term *= x / k as f64;
            sum += term;
        }
        sum
    } else {
        x.exp_m1() - x
    }
}

/// ln(1 + z) − z without cancellation near 0 (z > −1).
fn log_one_plus_minus(z: f64) -> f64 {
    if z.abs() < 0.1 {
        // Σ_{k≥2} (−1)^{k+1} z^k/k: 0.1¹⁸ is below 1e-16 of the first term.
        let mut power = z * z;
        let mut sum = 0.0;
        for k in 2..20 {
            let term = power / k as f64;
            sum += if k % 2 == 0 { -term } else { term };
            power *= z;
        }
        sum
    } else {
        z.ln_1p() - z
    }
}

/// logit(X) for X ~ Beta(a, b), a, b ≥ 1. Its mode is exactly ln(a/b).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogitBeta {
    /// min(a, b): the smaller parameter carries the shape.
    small: f64,
    /// a + b.
    total: f64,
    /// small / total ≤ ½.
    share: f64,
    /// b < a: the density is mirrored (logit(X) = −logit(1 − X)).
    mirrored: bool,
    /// ln of the density at the mode.
    log_mode_density: f64,
    /// Standard deviation, sqrt(ψ′(a) + ψ′(b)) by its asymptotic series (a guide for the
    /// integration panels, not a result).
    pub sd: f64,
}

impl LogitBeta {
    pub fn new(a: f64, b: f64) -> Self {
        let (small, large) = if a <= b { (a, b) } else { (b, a) };
        let total = a + b;
        // ln g(mode) = a·ln(a/r) + b·ln(b/r) − ln B(a, b); with Stirling's form of each ln Γ
        // the large terms cancel exactly on paper, leaving ½·ln(ab/(2πr)) − Δcorrection.
        let log_mode_density = 0.5 * (small / total * large).ln()
            - HALF_LN_TWO_PI
            - (stirling_correction(small) + stirling_correction(large)
                - stirling_correction(total));
        let trigamma = |z: f64| 1.0 / z + 1.0 / (2.0 * z * z) + 1.0 / (6.0 * z * z * z);
        Self {
            small,
            total,
            share: small / total,
            mirrored: b < a,
            log_mode_density,
            sd: (trigamma(a) + trigamma(b)).sqrt(),
        }
    }

    /// ln of the density of logit(X) at mode + `offset`.
    ///
    /// With s = min(a, b), r = a + b, p = s/r and δ the offset (mirrored when b < a), the
    /// exact identity ln g(mode + δ) − ln g(mode) = −s·(e^δ − 1 − δ) − r·(ln(1 + p·(e^δ − 1))
    /// − p·(e^δ − 1)) has both terms ≈ s·δ²/2 in the bulk; for δ > 1 the equivalent
    /// s·δ − r·ln(1 + p·(e^δ − 1)) avoids subtracting two large numbers.
    pub fn ln_density(&self, offset: f64) -> f64 {
        let delta = if self.mirrored { -offset } else { offset };
        if delta > 700.0 {
            return f64::NEG_INFINITY;
        }
        let v = delta.exp_m1();
        let shape = if delta > 1.0 {
            self.small * delta - self.total * (self.share * v).ln_1p()
        } else {
            -self.small * exp_minus_one_minus(delta)
                - self.total * log_one_plus_minus(self.share * v)
        };
        self.log_mode_density + shape
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uniform_posterior_has_the_logistic_density() {
        // Beta(1, 1): logit(X) has density e^u/(1 + e^u)².
        let beta = LogitBeta::new(1.0, 1.0);
        for u in [-5.0_f64, -1.0, 0.0, 0.3, 2.0, 10.0] {
            let exact = u - 2.0 * u.exp().ln_1p();
            assert!((beta.ln_density(u) - exact).abs() < 1e-13, "u {u}");
        }
    }

    #[test]
    fn a_small_posterior_matches_the_direct_formula() {
        // Beta(3, 8): ln g(u) = 3·ln σ(u) + 8·ln σ(−u) − ln B(3, 8), mode ln(3/8).
        let (a, b) = (3.0_f64, 8.0_f64);
        let ln_b = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
        let beta = LogitBeta::new(a, b);
        for u in [-6.0_f64, -2.0, -1.0, 0.0, 1.5] {
            let direct = -a * (-u).exp().ln_1p() - b * u.exp().ln_1p() - ln_b;
            let ours = beta.ln_density(u - (a / b).ln());
            assert!((ours - direct).abs() < 1e-12, "u {u}: {ours} vs {direct}");
        }
        let mirrored = LogitBeta::new(b, a);
        assert!((mirrored.ln_density(0.7) - beta.ln_density(-0.7)).abs() < 1e-13);
    }

    #[test]
    fn stirling_corrections_agree_on_both_sides_of_the_switch() {
        let series = |z: f64| {
            let w = 1.0 / (z * z);
            (1.0 / 12.0
                + w * (-1.0 / 360.0 + w * (1.0 / 1260.0 + w * (-1.0 / 1680.0 + w / 1188.0))))
                / z
        };
        assert!((stirling_correction(14.999) - series(14.999)).abs() < 1e-13);
    }
}
