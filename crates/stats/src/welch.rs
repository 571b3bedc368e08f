//! Welch's two-sample t-test on the absolute difference of means, its confidence interval, and
//! the relative effect (B/A − 1) with Fieller's interval inverting the same test.

use crate::sample::{Sample, Undefined};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Welch's test of `variant − control`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// Difference of means, variant − control.
    pub estimate: f64,
    /// sqrt(s_A²/n_A + s_B²/n_B).
    pub standard_error: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// estimate / standard_error.
    pub t: f64,
    /// Two-sided.
    pub p_value: f64,
    /// estimate ± t_{1−α/2, df} · standard_error.
    pub ci: [f64; 2],
}

/// Welch's unequal-variances t-test, two-sided, of `variant.mean − control.mean`.
///
/// Formula (Welch 1947; Satterthwaite 1946): se² = s_A²/n_A + s_B²/n_B,
/// df = se⁴ / ((s_A²/n_A)²/(n_A − 1) + (s_B²/n_B)²/(n_B − 1)), t = (m_B − m_A)/se,
/// p = 2·P(T_df > |t|), CI = (m_B − m_A) ± t_{1−α/2, df}·se — the same statistic, so the CI
/// excludes 0 exactly when p < α. Matches `scipy.stats.ttest_ind(b, a, equal_var=False)`.
/// Undefined when an arm has fewer than two units or both variances are 0.
pub fn welch(control: &Sample, variant: &Sample, alpha: f64) -> Result<WelchTest, Undefined> {
    check_alpha(alpha)?;
    if control.n < 2 || variant.n < 2 {
        return Err(Undefined::TooFewUnits);
    }
    let (va, vb) = (control.mean_variance(), variant.mean_variance());
    let se2 = va + vb;
    if se2.is_nan() || se2 <= 0.0 {
        return Err(Undefined::ZeroVariance);
    }
    let standard_error = se2.sqrt();
    // Scale-free form of the Welch–Satterthwaite df: squares of huge variances would overflow.
    let (ra, rb) = (va / va.max(vb), vb / va.max(vb));
    let df = (ra + rb) * (ra + rb)
        / (ra * ra / (control.n as f64 - 1.0) + rb * rb / (variant.n as f64 - 1.0));
    let estimate = variant.mean - control.mean;
    let t = estimate / standard_error;
    let p_value = t_two_sided_p(df, t)?;
    let half = t_quantile(df, 1.0 - alpha / 2.0)? * standard_error;
    let test = WelchTest {
        estimate,
        standard_error,
        df,
        t,
        p_value,
        ci: [estimate - half, estimate + half],
    };
    if [
        test.standard_error,
        test.df,
        test.t,
        test.p_value,
        test.ci[0],
        test.ci[1],
    ]
    .iter()
    .all(|x| x.is_finite())
    {
        Ok(test)
    } else {
        Err(Undefined::NotFinite)
    }
}

/// Relative effect `variant.mean / control.mean − 1` with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeEffect {
    pub estimate: f64,
    /// Delta-method standard error (kept for pooling and display; the interval is Fieller's).
    pub standard_error: f64,
    /// Fieller's interval, or why it is undefined (unbounded, zero width).
    pub ci: Result<[f64; 2], Undefined>,
}

/// Relative effect r = m_B/m_A − 1 with Fieller's interval inverting the same t statistic
/// (Welch's, `df` its Welch–Satterthwaite degrees of freedom), so the interval excludes 0
/// exactly when the Welch test rejects at `alpha` ([`crate::ratio::fieller_relative`]).
///
/// The standard error is the delta method's (Deng et al. 2018, "Applying the Delta Method in
/// Metric Analytics"; gbstats' form): Var(r) ≈ s_B²/(n_B·m_A²) + m_B²·s_A²/(n_A·m_A⁴).
/// Undefined when m_A ≤ 0; the interval alone is undefined (the estimate kept) when Fieller's
/// set is unbounded or of zero width — the caller warns.
pub fn relative_effect(
    control: &Sample,
    variant: &Sample,
    alpha: f64,
    df: f64,
) -> Result<RelativeEffect, Undefined> {
    check_alpha(alpha)?;
    let (ma, mb) = (control.mean, variant.mean);
    if ma <= 0.0 {
        return Err(Undefined::ControlMeanNotPositive);
    }
    let estimate = mb / ma - 1.0;
    let var = variant.mean_variance() / (ma * ma) + mb * mb * control.mean_variance() / ma.powi(4);
    let standard_error = var.sqrt();
    if !(estimate.is_finite() && standard_error.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    let q = t_quantile(df, 1.0 - alpha / 2.0)?;
    let ci =
        crate::ratio::fieller_relative(ma, control.mean_variance(), mb, variant.mean_variance(), q);
    Ok(RelativeEffect {
        estimate,
        standard_error,
        ci,
    })
}

/// The significance levels Touchstone accepts: below 1e-10 the quantiles lose their digits,
/// above 0.5 a two-sided test means nothing (decision 017).
pub const ALPHA_RANGE: (f64, f64) = (1e-10, 0.5);

/// Alphas inside (0, 1): adjusted levels (α·p/p_adj) may go below [`ALPHA_RANGE`]; the
/// range itself is enforced where alpha enters (definitions, `analyze` input).
pub(crate) fn check_alpha(alpha: f64) -> Result<(), Undefined> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(Undefined::InvalidParameter("alpha must be in (0, 1)"))
    }
}

fn students_t(df: f64) -> Result<StudentsT, Undefined> {
    StudentsT::new(0.0, 1.0, df).map_err(|_| Undefined::InvalidParameter("degrees of freedom"))
}

/// Standard normal quantile.
pub(crate) fn z_quantile(p: f64) -> f64 {
    statrs::function::erf::erfc_inv(2.0 * p) * -std::f64::consts::SQRT_2
}

/// Degrees of freedom beyond which Student's t is the normal distribution to ~1e-8: statrs's
/// incomplete beta loses precision (and its inverse its way) at such df.
const NORMAL_DF: f64 = 1e7;

/// Two-sided tail probability 2·P(T_df > |t|).
pub(crate) fn t_two_sided_p(df: f64, t: f64) -> Result<f64, Undefined> {
    let tail = if df > NORMAL_DF {
        standard_normal().sf(t.abs())
    } else {
        students_t(df)?.sf(t.abs())
    };
    Ok((2.0 * tail).min(1.0))
}

/// ln of Student's t density, in logs so that large df neither overflow Γ nor lose digits.
fn ln_t_density(df: f64, x: f64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    ln_gamma((df + 1.0) / 2.0)
        - ln_gamma(df / 2.0)
        - 0.5 * (df * std::f64::consts::PI).ln()
        - (df + 1.0) / 2.0 * (x * x / df).ln_1p()
}

/// Degrees of freedom from which the Cornish–Fisher expansion to 1/v⁴ is the quantile: its
/// first omitted term, g₅/v⁵ (≈ 27z¹¹/(368640·v⁵)), is below 1e-15 there for every alpha
/// Touchstone accepts (|z| ≤ 6.5), while statrs's incomplete beta carries 1e-13 to 1e-10 of
/// relative error from here up — Newton steps on it would only wander (and used to take all
/// their 20 iterations doing so, the one cost of the results that grew with the traffic).
const CORNISH_FISHER_DF: f64 = 1e4;

/// Student t quantile: the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5) from the
/// normal quantile — exact to ~1e-15 from `CORNISH_FISHER_DF` — and below it polished by
/// Newton steps on statrs's CDF so that intervals match scipy's `t.ppf` to ~1e-12. For small
/// df the start is statrs's own inverse, which is accurate there.
pub(crate) fn t_quantile(df: f64, p: f64) -> Result<f64, Undefined> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Undefined::InvalidParameter("probability must be in (0, 1)"));
    }
    let dist = students_t(df)?;
    let z = z_quantile(p);
    let (z2, v) = (z * z, df);
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    let cornish_fisher = z + g1 / v + g2 / (v * v) + g3 / v.powi(3) + g4 / v.powi(4);
    if df >= CORNISH_FISHER_DF {
        return Ok(cornish_fisher);
    }
    let mut x = if df < 30.0 {
        dist.inverse_cdf(p)
    } else {
        cornish_fisher
    };
    if !x.is_finite() {
        x = cornish_fisher;
    }
    let mut previous_step = f64::INFINITY;
    for _ in 0..20 {
        let density = ln_t_density(df, x).exp();
        if !(density.is_finite() && density > 0.0) {
            break;
        }
        // Upper tail with sf keeps precision for p close to 1.
        let error = if p > 0.5 {
            (1.0 - p) - dist.sf(x)
        } else {
            dist.cdf(x) - p
        };
        let step = error / density;
        if !step.is_finite() {
            break;
        }
        x -= step;
        // Converged, or no longer converging: the CDF's own rounding is reached.
        if step.abs() <= 1e-14 * x.abs().max(1.0) || step.abs() >= previous_step {
            break;
        }
        previous_step = step.abs();
    }
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Undefined::NotFinite)
    }
}

/// Standard normal distribution (statrs), for the Bayesian normal approximation and power.
pub(crate) fn standard_normal() -> Normal {
    Normal::standard()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Counts;

    #[test]
    fn the_interval_excludes_zero_exactly_when_p_is_below_alpha() {
        let a = Sample::from_counts(Counts::new(1000, 100)).expect("defined");
        for reached in [100, 110, 120, 125, 126, 127, 128, 130, 140] {
            let b = Sample::from_counts(Counts::new(1000, reached)).expect("defined");
            let test = welch(&a, &b, 0.05).expect("defined");
            let excludes_zero = test.ci[0] > 0.0 || test.ci[1] < 0.0;
            assert_eq!(excludes_zero, test.p_value < 0.05, "reached {reached}");
        }
    }

    #[test]
    fn two_arms_without_variance_have_no_test() {
        let a = Sample::from_counts(Counts::new(100, 0)).expect("defined");
        let b = Sample::from_counts(Counts::new(100, 0)).expect("defined");
        assert_eq!(welch(&a, &b, 0.05), Err(Undefined::ZeroVariance));
        let c = Sample::from_counts(Counts::new(100, 5)).expect("defined");
        assert_eq!(
            relative_effect(&a, &c, 0.05, 100.0),
            Err(Undefined::ControlMeanNotPositive)
        );
    }

    #[test]
    fn t_quantiles_tend_to_normal_quantiles() {
        let t = t_quantile(1e9, 0.975).expect("defined");
        assert!((t - 1.959963984540054).abs() < 1e-7);
        assert!((z_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
    }
}
