//! The two shapes of data every test reads — a rate (`Counts`) and the summary of per-unit
//! values (`Sample`) — and `Undefined`, the reason a quantity has no value.

use thiserror::Error;

/// Why a statistic has no value. The analysis turns each into `null` plus a warning, so that
/// no NaN or infinity ever reaches a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Undefined {
    #[error("no exposed units")]
    NoUnits,
    #[error("fewer than two units in an arm, so no sample variance")]
    TooFewUnits,
    #[error(
        "both arms have zero variance (every value equal, e.g. no unit or every unit converted)"
    )]
    ZeroVariance,
    #[error("the control mean is 0, so a relative effect is undefined")]
    ControlMeanZero,
    #[error("the control mean is not positive, so a relative effect is undefined")]
    ControlMeanNotPositive,
    #[error(
        "the control mean is not distinguishable from 0 at this level, so the interval of the ratio (Fieller) is unbounded"
    )]
    UnboundedRatio,
    #[error(
        "the ratio has no variance left (e.g. a variant without any event), so its interval would have zero width"
    )]
    ZeroWidthRatio,
    #[error("the effect is not reachable with this sample")]
    NotReachable,
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("the input is not a finite number")]
    NotFinite,
    #[error("fewer than two slices have an effect with a positive standard error")]
    TooFewSlices,
}

/// Units that reached a stage out of exposed units: a 0/1 value per exposed unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub units: u64,
    pub reached: u64,
}

impl Counts {
    pub fn new(units: u64, reached: u64) -> Self {
        Self { units, reached }
    }

    /// `reached / units`, or `None` without units.
    pub fn rate(&self) -> Option<f64> {
        (self.units > 0).then(|| self.reached as f64 / self.units as f64)
    }
}

/// Size, mean and sample variance (n − 1 denominator) of per-unit values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

impl Sample {
    /// From count, sum and sum of squares: mean = Σx/n, s² = (Σx² − n·mean²)/(n − 1).
    /// A slightly negative s² from rounding is taken as 0.
    pub fn from_moments(count: u64, sum: f64, sum_squares: f64) -> Result<Self, Undefined> {
        if !(sum.is_finite() && sum_squares.is_finite()) {
            return Err(Undefined::NotFinite);
        }
        match count {
            0 => Err(Undefined::NoUnits),
            1 => Err(Undefined::TooFewUnits),
            n => {
                let n_f = n as f64;
                let mean = sum / n_f;
                let variance = ((sum_squares - sum * mean) / (n_f - 1.0)).max(0.0);
                if variance.is_finite() {
                    Ok(Self { n, mean, variance })
                } else {
                    Err(Undefined::NotFinite)
                }
            }
        }
    }

    /// A 0/1 value per exposed unit: mean p, s² = n/(n − 1)·p(1 − p) = x(n − x)/(n(n − 1)),
    /// the variance `scipy.stats.ttest_ind` uses on the raw 0/1 array.
    pub fn from_counts(counts: Counts) -> Result<Self, Undefined> {
        let Counts { units, reached } = counts;
        if reached > units {
            return Err(Undefined::InvalidParameter("reached exceeds units"));
        }
        match units {
            0 => Err(Undefined::NoUnits),
            1 => Err(Undefined::TooFewUnits),
            n => {
                let (n_f, x) = (n as f64, reached as f64);
                Ok(Self {
                    n,
                    mean: x / n_f,
                    variance: x * (n_f - x) / (n_f * (n_f - 1.0)),
                })
            }
        }
    }

    /// Every value multiplied by `factor` (mean by `factor`, variance by `factor²`).
    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            n: self.n,
            mean: self.mean * factor,
            variance: self.variance * factor * factor,
        }
    }

    /// Squared standard error of the mean, s²/n.
    pub fn mean_variance(&self) -> f64 {
        self.variance / self.n as f64
    }
}

/// `Some(x)` when `x` is finite: the last guard before a number enters a result.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_moments_of_zero_one_values_give_the_same_sample() {
        let from_counts = Sample::from_counts(Counts::new(10, 3)).expect("defined");
        let from_moments = Sample::from_moments(10, 3.0, 3.0).expect("defined");
        assert!((from_counts.mean - from_moments.mean).abs() < 1e-15);
        assert!((from_counts.variance - from_moments.variance).abs() < 1e-15);
        // n/(n−1)·p(1−p) = 10/9 · 0.21
        assert!((from_counts.variance - 10.0 / 9.0 * 0.21).abs() < 1e-15);
    }

    #[test]
    fn an_arm_without_two_units_has_no_variance() {
        assert_eq!(
            Sample::from_counts(Counts::new(0, 0)),
            Err(Undefined::NoUnits)
        );
        assert_eq!(
            Sample::from_moments(1, 2.0, 4.0),
            Err(Undefined::TooFewUnits)
        );
        assert!(Sample::from_counts(Counts::new(3, 4)).is_err());
        assert_eq!(
            Sample::from_moments(5, f64::NAN, 1.0),
            Err(Undefined::NotFinite)
        );
    }

    #[test]
    fn rounding_never_makes_a_variance_negative() {
        let sample = Sample::from_moments(3, 0.3, 0.03).expect("defined");
        assert!(sample.variance >= 0.0);
    }
}
