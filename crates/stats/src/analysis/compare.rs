//! One variant against control: every statistic of the `vs_control` object, each undefined
//! one left `None` with a warning naming the comparison and the reason.

use super::results::{Basis, BasisSlot, Comparison, Effect, SequentialResult};
use crate::bayes;
use crate::sample::{Counts, Sample, Undefined, finite};
use crate::sequential::{confidence_sequence, rho_squared};
use crate::welch::{WelchTest, relative_effect, welch};
use touchstone_model::{Analysis, Direction, Moments};

/// What one arm contributes to a comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    /// A 0/1 value per exposed unit: Beta posteriors.
    Rate(Counts),
    /// Continuous per-unit values: normal approximation for the Bayesian part.
    Values(Moments),
}

impl Outcome {
    fn sample(&self) -> Result<Sample, Undefined> {
        match *self {
            Self::Rate(counts) => Sample::from_counts(counts),
            Self::Values(m) => Sample::from_moments(m.count, m.sum, m.sum_squares),
        }
    }

    fn units(&self) -> u64 {
        match self {
            Self::Rate(counts) => counts.units,
            Self::Values(m) => m.count,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub alpha: f64,
    pub tuning: f64,
    pub direction: Direction,
    /// The experiment's verdict rule.
    pub analysis: Analysis,
    /// `fixed` before the planned sample is in.
    pub waiting: bool,
}

/// Everything but the adjusted p-value, significance and verdict, which need the whole
/// family ([`super::verdict::decide_family`]).
pub(crate) fn compare(
    control: Outcome,
    variant: Outcome,
    settings: Settings,
    label: &str,
    warnings: &mut Vec<String>,
) -> Comparison {
    let mut comparison = Comparison {
        decided_by: settings.analysis,
        ..Comparison::default()
    };
    let mut warn =
        |what: &str, why: Undefined| warnings.push(format!("{label}: {what} is undefined: {why}"));
    let (a, b) = match (control.sample(), variant.sample()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) => {
            warn("the comparison (control)", why);
            return comparison;
        }
        (_, Err(why)) => {
            warn("the comparison (variant)", why);
            return comparison;
        }
    };
    match welch(&a, &b, settings.alpha) {
        Ok(test) => {
            comparison.absolute = Effect {
                estimate: finite(test.estimate),
                ci: Some(test.ci),
                standard_error: finite(test.standard_error),
            };
            comparison.p_value = finite(test.p_value);
            match relative_effect(&a, &b, settings.alpha, test.df) {
                Ok(relative) => {
                    if let Err(why) = relative.ci {
                        warn("the relative interval", why);
                    }
                    comparison.relative = Effect {
                        estimate: finite(relative.estimate),
                        ci: relative.ci.ok(),
                        standard_error: finite(relative.standard_error),
                    }
                }
                Err(why) => warn("the relative effect", why),
            }
            let total = control.units().saturating_add(variant.units());
            comparison.basis = BasisSlot(Some(Basis {
                control: a,
                variant: b,
                df: test.df,
                total_units: total,
                rho2: rho_squared(settings.alpha, settings.tuning),
                waiting: settings.waiting,
                direction: settings.direction,
                relative_base: None,
            }));
            fill_sequential(&mut comparison, &test, total, &settings, &mut warn);
        }
        Err(why) => {
            // With no difference test, the relative estimate alone still describes the data.
            if a.mean > 0.0 {
                comparison.relative.estimate = finite(b.mean / a.mean - 1.0);
            }
            comparison.absolute.estimate = finite(b.mean - a.mean);
            warn("the difference test", why);
        }
    }
    match bayesian(control, variant, &a, &b, settings.direction) {
        Ok((chance, loss)) => {
            comparison.chance_to_beat_control = finite(chance);
            comparison.expected_loss = finite(loss);
        }
        Err(why) => warn("the chance to beat control", why),
    }
    comparison
}

/// (chance to beat control, expected loss), with "better" read from the direction.
fn bayesian(
    control: Outcome,
    variant: Outcome,
    a: &Sample,
    b: &Sample,
    direction: Direction,
) -> Result<(f64, f64), Undefined> {
    match (control, variant, direction) {
        (Outcome::Rate(ca), Outcome::Rate(cb), Direction::Increase) => {
            let both = bayes::beta_comparison(ca, cb)?;
            Ok((both.variant_higher, both.loss_if_higher_is_better))
        }
        (Outcome::Rate(ca), Outcome::Rate(cb), Direction::Decrease) => {
            let both = bayes::beta_comparison(ca, cb)?;
            Ok((1.0 - both.variant_higher, both.loss_if_lower_is_better))
        }
        _ => normal_bayesian(a, b, direction),
    }
}

/// (chance to beat control, expected loss) of the normal approximation: continuous metrics,
/// and every CUPED comparison (adjusted samples have no Beta posterior).
pub(crate) fn normal_bayesian(
    a: &Sample,
    b: &Sample,
    direction: Direction,
) -> Result<(f64, f64), Undefined> {
    match direction {
        Direction::Increase => Ok((
            bayes::normal_chance_to_beat(a, b)?,
            bayes::normal_expected_loss(a, b)?,
        )),
        Direction::Decrease => Ok((
            1.0 - bayes::normal_chance_to_beat(a, b)?,
            bayes::normal_expected_loss(b, a)?,
        )),
    }
}

/// A conversion metric's moments as counts (sum = converters), when they are consistent.
pub(crate) fn conversion_counts(moments: &Moments) -> Option<Counts> {
    let reached = moments.sum.round();
    let consistent = (moments.sum - reached).abs() < 1e-9
        && reached >= 0.0
        && reached <= moments.count as f64
        && (moments.sum_squares - moments.sum).abs() < 1e-6 * moments.sum.max(1.0);
    consistent.then(|| Counts::new(moments.count, reached as u64))
}

/// The always-valid interval of the difference `test` over `total` units into `comparison`;
/// left as it was, with a warning, when it cannot be formed. The plain and the CUPED
/// comparison both take their interval here.
pub(super) fn fill_sequential(
    comparison: &mut Comparison,
    test: &WelchTest,
    total: u64,
    settings: &Settings,
    warn: &mut impl FnMut(&str, Undefined),
) {
    match confidence_sequence(
        test.estimate,
        test.standard_error,
        total,
        settings.alpha,
        settings.tuning,
    ) {
        Ok(sequential) => {
            comparison.sequential = SequentialResult {
                ci: Some(sequential.ci),
                p_value: finite(sequential.p_value),
            }
        }
        Err(why) => warn("the always-valid interval", why),
    }
}
