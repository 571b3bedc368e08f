//! Reference values computed independently with scipy / statsmodels, replayed through one
//! `check(case)`. The cases live in `reference_cases.rs`, written by
//! `tests/reference/generate.py`, each with its source and python expression.

use super::reference_cases::CASES;
use touchstone_stats::bayes::{
    beta_chance_to_beat, beta_expected_loss, normal_chance_to_beat, normal_expected_loss,
};
use touchstone_stats::correction::{benjamini_hochberg, holm};
use touchstone_stats::fallbacks::share_difference;
use touchstone_stats::power::{reachable_mde, sample_size_per_variant};
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::srm::srm;
use touchstone_stats::welch::{relative_effect, welch};
use touchstone_stats::{Counts, Sample};

/// One reference case; moments are `[count, sum, sum_squares]`.
#[derive(Debug)]
pub enum Case {
    Welch {
        a: [f64; 3],
        b: [f64; 3],
        alpha: f64,
        estimate: f64,
        standard_error: f64,
        df: f64,
        p_value: f64,
        ci: [f64; 2],
    },
    Relative {
        a: [f64; 3],
        b: [f64; 3],
        alpha: f64,
        estimate: f64,
        standard_error: f64,
        /// Fieller's interval; `None` where the relative effect is undefined (control mean ≤ 0).
        ci: Option<[f64; 2]>,
    },
    Sequential {
        estimate: f64,
        standard_error: f64,
        total_units: u64,
        alpha: f64,
        tuning: f64,
        ci: [f64; 2],
        p_value: f64,
    },
    /// (units, reached) per arm.
    Beta {
        control: (u64, u64),
        variant: (u64, u64),
        chance: f64,
        loss: f64,
    },
    /// (mean, variance, n) per arm.
    Normal {
        a: (f64, f64, u64),
        b: (f64, f64, u64),
        chance: f64,
        loss: f64,
    },
    /// (calls, fallbacks) per arm.
    FallbackShares {
        control: (u64, u64),
        variant: (u64, u64),
        alpha: f64,
        tuning: f64,
        estimate: f64,
        ci: [f64; 2],
        p_value: f64,
    },
    Srm {
        units: &'static [u64],
        weights: &'static [f64],
        chi_square: f64,
        p_value: f64,
    },
    Holm {
        p: &'static [f64],
        adjusted: &'static [f64],
    },
    Bh {
        p: &'static [f64],
        adjusted: &'static [f64],
    },
    SampleSize {
        baseline: f64,
        mde: f64,
        alpha: f64,
        power: f64,
        n: u64,
    },
    ReachableMde {
        baseline: f64,
        units: u64,
        alpha: f64,
        power: f64,
        mde: f64,
    },
}

/// 1e-6 relative, with an absolute floor for values that are 0 up to rounding.
fn close(what: &str, actual: f64, expected: f64, case: &Case) {
    let tolerance = 1e-6 * expected.abs() + 1e-13;
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs reference {expected} in {case:?}"
    );
}

fn sample(m: [f64; 3]) -> Sample {
    Sample::from_moments(m[0] as u64, m[1], m[2]).expect("reference samples are defined")
}

fn check(case: &Case) {
    match case {
        Case::Welch {
            a,
            b,
            alpha,
            estimate,
            standard_error,
            df,
            p_value,
            ci,
        } => {
            let test = welch(&sample(*a), &sample(*b), *alpha).expect("defined");
            close("estimate", test.estimate, *estimate, case);
            close("standard error", test.standard_error, *standard_error, case);
            close("df", test.df, *df, case);
            close("p", test.p_value, *p_value, case);
            close("ci low", test.ci[0], ci[0], case);
            close("ci high", test.ci[1], ci[1], case);
        }
        Case::Relative {
            a,
            b,
            alpha,
            estimate,
            standard_error,
            ci,
        } => {
            let (a, b) = (sample(*a), sample(*b));
            let df = welch(&a, &b, *alpha).expect("defined").df;
            let Some(ci) = ci else {
                // Issue 17: a control mean ≤ 0 has no relative effect (the ratio's sign would
                // contradict the direction of the change).
                assert!(relative_effect(&a, &b, *alpha, df).is_err(), "{case:?}");
                return;
            };
            let relative = relative_effect(&a, &b, *alpha, df).expect("defined");
            close("estimate", relative.estimate, *estimate, case);
            close(
                "standard error",
                relative.standard_error,
                *standard_error,
                case,
            );
            let fieller = relative.ci.expect("bounded");
            close("ci low", fieller[0], ci[0], case);
            close("ci high", fieller[1], ci[1], case);
        }
        Case::Sequential {
            estimate,
            standard_error,
            total_units,
            alpha,
            tuning,
            ci,
            p_value,
        } => {
            let test =
                confidence_sequence(*estimate, *standard_error, *total_units, *alpha, *tuning)
                    .expect("defined");
            close("ci low", test.ci[0], ci[0], case);
            close("ci high", test.ci[1], ci[1], case);
            close("p", test.p_value, *p_value, case);
        }
        Case::Beta {
            control,
            variant,
            chance,
            loss,
        } => {
            let a = Counts::new(control.0, control.1);
            let b = Counts::new(variant.0, variant.1);
            close(
                "chance",
                beta_chance_to_beat(a, b).expect("defined"),
                *chance,
                case,
            );
            close(
                "loss",
                beta_expected_loss(a, b).expect("defined"),
                *loss,
                case,
            );
        }
        Case::Normal { a, b, chance, loss } => {
            let a = Sample {
                mean: a.0,
                variance: a.1,
                n: a.2,
            };
            let b = Sample {
                mean: b.0,
                variance: b.1,
                n: b.2,
            };
            close(
                "chance",
                normal_chance_to_beat(&a, &b).expect("defined"),
                *chance,
                case,
            );
            close(
                "loss",
                normal_expected_loss(&a, &b).expect("defined"),
                *loss,
                case,
            );
        }
        Case::FallbackShares {
            control,
            variant,
            alpha,
            tuning,
            estimate,
            ci,
            p_value,
        } => {
            let control = Counts::new(control.0, control.1);
            let variant = Counts::new(variant.0, variant.1);
            let test = share_difference(control, variant, *alpha, *tuning).expect("defined");
            close("estimate", test.estimate, *estimate, case);
            close("ci low", test.sequential.ci[0], ci[0], case);
            close("ci high", test.sequential.ci[1], ci[1], case);
            close("p", test.sequential.p_value, *p_value, case);
        }
        Case::Srm {
            units,
            weights,
            chi_square,
            p_value,
        } => {
            let test = srm(units, weights).expect("defined");
            close("chi-square", test.chi_square, *chi_square, case);
            close("p", test.p_value, *p_value, case);
        }
        Case::Holm { p, adjusted } | Case::Bh { p, adjusted } => {
            let input: Vec<Option<f64>> = p.iter().copied().map(Some).collect();
            let actual = match case {
                Case::Holm { .. } => holm(&input),
                _ => benjamini_hochberg(&input),
            };
            for (actual, expected) in actual.iter().zip(adjusted.iter()) {
                close("adjusted p", actual.expect("defined"), *expected, case);
            }
        }
        Case::SampleSize {
            baseline,
            mde,
            alpha,
            power,
            n,
        } => {
            let actual = sample_size_per_variant(*baseline, *mde, *alpha, *power).expect("defined");
            assert_eq!(actual, *n, "{case:?}");
        }
        Case::ReachableMde {
            baseline,
            units,
            alpha,
            power,
            mde,
        } => {
            let actual = reachable_mde(*baseline, *units, *alpha, *power).expect("defined");
            close("mde", actual, *mde, case);
        }
    }
}

#[test]
fn every_reference_case_matches_scipy_and_statsmodels() {
    assert!(CASES.len() >= 30, "the generated table is missing cases");
    for case in CASES {
        check(case);
    }
}

#[test]
fn every_kind_of_statistic_has_a_reference_case() {
    let kinds: std::collections::HashSet<std::mem::Discriminant<Case>> =
        CASES.iter().map(std::mem::discriminant).collect();
    assert_eq!(kinds.len(), 11);
}
