//! CUPED in the results (decision 023): a comparison whose stage or metric declares a
//! covariate gets its headline — absolute and relative effect, Welch's p, the always-valid
//! interval, the normal chance to beat, and so (through [`super::verdict`]) the verdict — from
//! the regression-adjusted statistics of [`crate::cuped`]; the unadjusted figures move to
//! `unadjusted`. Sums that cannot be trusted (a covariate without variance, a single unit,
//! sums no data can have) leave the comparison unadjusted, with a warning saying why.

use super::compare::{Settings, fill_sequential, normal_bayesian};
use super::results::{
    Basis, BasisSlot, Comparison, CovariateMissing, CupedResult, Effect, RelativeBase,
    SequentialResult, UnadjustedComparison,
};
use crate::cuped::{self, CovariateMoments, CupedComparison};
use crate::ratio::fieller_difference_ratio;
use crate::sample::{Undefined, finite};
use crate::sequential::rho_squared;
use crate::welch::t_quantile;
use touchstone_model::{CovariateSums, Moments};

/// A stage or metric that adjusts for a covariate; `attribute` is unknown offline unless the
/// input names it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DeclaredCovariate {
    pub attribute: Option<String>,
}

/// One arm's outcome moments with its covariate sums (`None`: nothing counted for it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArmSums {
    pub outcome: Moments,
    pub covariate: Option<CovariateSums>,
}

/// Replaces `comparison`'s headline with the adjusted one when the sums allow it, and records
/// the adjustment (or why there is none) in `comparison.cuped`.
pub(crate) fn adjust(
    comparison: &mut Comparison,
    declared: &DeclaredCovariate,
    control: ArmSums,
    variant: ArmSums,
    settings: Settings,
    label: &str,
    warnings: &mut Vec<String>,
) {
    let missing = CovariateMissing {
        control: control.covariate.map_or(0, |c| c.missing),
        variant: variant.covariate.map_or(0, |c| c.missing),
    };
    let mut result = CupedResult {
        attribute: declared.attribute.clone(),
        applied: false,
        theta: None,
        variance_reduction: None,
        covariate_missing: missing,
        not_applied: None,
    };
    match adjusted(control, variant, settings.alpha) {
        Ok((cuped, control_xy)) => {
            apply(comparison, &cuped, control_xy, settings, label, warnings);
            result.applied = true;
            result.theta = finite(cuped.theta);
            result.variance_reduction = finite(cuped.variance_reduction);
        }
        Err(why) => {
            let on = declared.attribute.as_deref().unwrap_or("the covariate");
            warnings.push(format!(
                "{label}: CUPED on {on} not applied, the figures are unadjusted: {why}"
            ));
            result.not_applied = Some(why);
        }
    }
    comparison.cuped = Some(result);
}

/// The adjusted comparison with control's sample covariance of x and y, or why it cannot be
/// trusted.
fn adjusted(
    control: ArmSums,
    variant: ArmSums,
    alpha: f64,
) -> Result<(CupedComparison, f64), String> {
    let (Some(a), Some(b)) = (control.covariate, variant.covariate) else {
        return Err("no covariate sums were counted for an arm (data from before the covariate was declared?)".into());
    };
    let a = moments(control.outcome, a).map_err(|why| format!("control: {why}"))?;
    let b = moments(variant.outcome, b).map_err(|why| format!("variant: {why}"))?;
    let reason = |why: Undefined| match why {
        Undefined::ZeroVariance => {
            "the covariate (or the outcome) has no variance over both arms".to_string()
        }
        Undefined::TooFewUnits => "an arm has fewer than two units".to_string(),
        other => other.to_string(),
    };
    let comparison = cuped::compare(&a, &b, alpha).map_err(reason)?;
    Ok((comparison, a.covariance().map_err(reason)?))
}

/// One arm's running sums, checked for what no data can produce: non-finite sums, more
/// missing covariates than units, Σx² < (Σx)²/n, or a correlation beyond ±1.
fn moments(outcome: Moments, sums: CovariateSums) -> Result<CovariateMoments, String> {
    let all = [
        outcome.sum,
        outcome.sum_squares,
        sums.sum,
        sums.sum_squares,
        sums.sum_of_products,
    ];
    if !all.iter().all(|x| x.is_finite()) {
        return Err("a covariate sum is not a finite number".into());
    }
    if sums.missing > outcome.count {
        return Err(format!(
            "{} units miss the covariate but only {} were counted",
            sums.missing, outcome.count
        ));
    }
    let moments = CovariateMoments {
        n: outcome.count,
        sum: outcome.sum,
        sum_squares: outcome.sum_squares,
        covariate_sum: sums.sum,
        covariate_sum_squares: sums.sum_squares,
        sum_of_products: sums.sum_of_products,
    };
    let n = outcome.count as f64;
    // Rounding of long running sums may take Σx² a hair below (Σx)²/n; more is impossible.
    if sums.sum_squares < 0.0
        || (n > 0.0 && sums.sum_squares * n < sums.sum * sums.sum * (1.0 - 1e-9))
    {
        return Err(
            "the covariate's sum of squares is below (Σx)²/n: no data has these sums".into(),
        );
    }
    if outcome.count >= 2 {
        let (x, y, xy) = (
            moments.covariate().map_err(|why| why.to_string())?,
            moments.outcome().map_err(|why| why.to_string())?,
            moments.covariance().map_err(|why| why.to_string())?,
        );
        // Rounding of the sums leaves the covariance this much noise (a constant covariate
        // gives ±tiny, not 0), so only a correlation clearly beyond ±1 is impossible.
        let rounding =
            1e-9 * (sums.sum_of_products.abs() + (sums.sum * outcome.sum / n).abs()) / (n - 1.0);
        if xy.abs() > (x.variance * y.variance).sqrt() * (1.0 + 1e-6) + rounding {
            return Err(
                "the sum of products implies a correlation beyond ±1: no data has these sums"
                    .into(),
            );
        }
    }
    Ok(moments)
}

fn apply(
    comparison: &mut Comparison,
    cuped: &CupedComparison,
    control_xy: f64,
    settings: Settings,
    label: &str,
    warnings: &mut Vec<String>,
) {
    let mut warn =
        |what: &str, why: Undefined| warnings.push(format!("{label}: {what} is undefined: {why}"));
    comparison.unadjusted = Some(UnadjustedComparison {
        absolute: comparison.absolute.clone(),
        relative: comparison.relative.clone(),
        p_value: comparison.p_value,
        sequential: comparison.sequential.clone(),
        chance_to_beat_control: comparison.chance_to_beat_control,
    });
    let test = &cuped.absolute;
    let (a, b) = (cuped.control, cuped.variant);
    comparison.absolute = Effect {
        estimate: finite(test.estimate),
        ci: Some(test.ci),
        standard_error: finite(test.standard_error),
    };
    comparison.p_value = finite(test.p_value);
    // Cov(ȳ'_B − ȳ'_A, ȳ_A) = −Cov(ȳ_A − θx̄_A, ȳ_A) = −(s²_y − θ·s_xy)/n of control.
    let control_n = a.unadjusted.n as f64;
    let covariance = -(a.unadjusted.variance - cuped.theta * control_xy) / control_n;
    let base = RelativeBase {
        mean: a.unadjusted.mean,
        mean_variance: a.unadjusted.mean_variance(),
        covariance_with_difference: covariance,
    };
    comparison.relative = Effect::default();
    match cuped.relative {
        Ok(relative) => {
            let ci = t_quantile(test.df, 1.0 - settings.alpha / 2.0).and_then(|q| {
                fieller_difference_ratio(
                    test.estimate,
                    test.standard_error * test.standard_error,
                    base.mean,
                    base.mean_variance,
                    base.covariance_with_difference,
                    q,
                )
            });
            if let Err(why) = ci {
                warn("the relative interval", why);
            }
            comparison.relative = Effect {
                estimate: finite(relative.estimate),
                ci: ci.ok(),
                standard_error: finite(relative.standard_error),
            };
        }
        Err(why) => warn("the relative effect", why),
    }
    let total = a.sample.n.saturating_add(b.sample.n);
    comparison.sequential = SequentialResult::default();
    fill_sequential(comparison, test, total, &settings, &mut warn);
    comparison.basis = BasisSlot(Some(Basis {
        control: a.sample,
        variant: b.sample,
        df: test.df,
        total_units: total,
        rho2: rho_squared(settings.alpha, settings.tuning),
        waiting: settings.waiting,
        direction: settings.direction,
        relative_base: Some(base),
    }));
    comparison.chance_to_beat_control = None;
    comparison.expected_loss = None;
    match normal_bayesian(&a.sample, &b.sample, settings.direction) {
        Ok((chance, loss)) => {
            comparison.chance_to_beat_control = finite(chance);
            comparison.expected_loss = finite(loss);
        }
        Err(why) => warn("the chance to beat control", why),
    }
}
