//! Where the Beta quadrature puts its panels (decision 017): one partition of the logit line
//! shared by every arm, as coarse as each arm allows and no finer.
//!
//! - **Live range.** An arm's density matters only where its mass does: logit(X) for
//!   X ~ Beta(a, b) is log-concave (a·ln σ(u) + b·ln σ(−u), both concave), so beyond a point
//!   t the mass is at most g(t)/|slope|, and the secant from a point nearer the mode bounds
//!   the slope from below. The range ends at the first step where that bound is below
//!   [`TAIL_MASS`]: about ±11 standard deviations for the near-normal posteriors of real
//!   traffic, up to ±40 for a = 1, whose tail is exponential.
//! - **Panel width.** Near an arm's mode a panel spans [`BULK_WIDTH`] of its standard
//!   deviations, [`WIDENING`] more per standard deviation of distance to the mode (taken at
//!   the panel's end nearest the mode), never more than [`MAX_WIDTH`] on the logit scale.
//!   Walking left to right, each panel is as wide as the narrowest arm live there allows. So
//!   arms that overlap share panels (two identical arms cost what one does), arms far apart
//!   each get their own, and the count is bounded whatever the counts.

use super::logit_beta::LogitBeta;

/// Mass of an arm left outside its live range, on each side.
const TAIL_MASS: f64 = 1e-22;
/// Distances from the mode, in standard deviations, at which the tail bound is tried.
const STEPS: [f64; 24] = [
    1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0, 16.0, 19.0, 22.0, 26.0,
    30.0, 35.0, 40.0, 46.0, 52.0, 60.0, 70.0,
];
/// Panel width at an arm's mode, in its standard deviations.
pub(crate) const BULK_WIDTH: f64 = 1.0;
/// Added panel width per standard deviation of distance from the mode.
pub(crate) const WIDENING: f64 = 0.5;
/// No panel is wider than this on the logit scale: the densities have poles at ±iπ from the
/// real line, so 20 nodes over a width of 4 integrate them to ~1e-20.
const MAX_WIDTH: f64 = 4.0;
/// More panels than any arms of the ABI's sizes need; a guard against a bad width, not a limit
/// a real input meets.
const MAX_PANELS: usize = 20_000;

/// One arm on the shared line: offsets are from the first arm's mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArmRange {
    pub beta: LogitBeta,
    /// The arm's mode.
    pub mode: f64,
    /// Its live range.
    pub lo: f64,
    pub hi: f64,
}

impl ArmRange {
    pub fn new(beta: LogitBeta, mode: f64) -> Self {
        Self {
            beta,
            mode,
            lo: mode - live_reach(&beta, -1.0),
            hi: mode + live_reach(&beta, 1.0),
        }
    }

    /// Whether the arm has mass worth evaluating in [lo, hi].
    pub fn live_in(&self, lo: f64, hi: f64) -> bool {
        hi > self.lo && lo < self.hi
    }

    /// The widest panel starting at `z` this arm allows, or `None` when its range is behind.
    fn widest_from(&self, z: f64) -> Option<f64> {
        if z >= self.hi {
            return None;
        }
        let start = z.max(self.lo);
        // Standard deviations from `start` to the mode, positive while walking towards it.
        let k = (self.mode - start) / self.beta.sd;
        let in_sd = if k >= BULK_WIDTH {
            // The panel ends short of the mode, and its width is the one at that end:
            // w = c0 + c1·(k − w) solved for w.
            (BULK_WIDTH + WIDENING * k) / (1.0 + WIDENING)
        } else if k >= 0.0 {
            BULK_WIDTH
        } else {
            BULK_WIDTH + WIDENING * -k
        };
        Some(start - z + (in_sd * self.beta.sd).min(MAX_WIDTH))
    }
}

/// How far from the mode, on one side (`side` ±1), the arm's mass beyond is below
/// [`TAIL_MASS`].
fn live_reach(beta: &LogitBeta, side: f64) -> f64 {
    let mut inner = (0.0, beta.ln_density(0.0));
    for k in STEPS {
        let t = k * beta.sd;
        let log_density = beta.ln_density(side * t);
        // Log-concave: the slope beyond t is at least the secant's, so the tail mass is at
        // most g(t)/secant.
        let secant = (inner.1 - log_density) / (t - inner.0);
        if secant > 0.0 && log_density - secant.ln() < TAIL_MASS.ln() {
            return t;
        }
        inner = (t, log_density);
    }
    STEPS[STEPS.len() - 1] * beta.sd
}

/// A panel of the partition. Where no arm is [live](ArmRange::live_in) it spans the gap
/// between two live ranges in one piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub lo: f64,
    pub hi: f64,
}

/// The partition of the union of the arms' live ranges (with gaps between ranges that do not
/// meet), left to right.
pub(crate) fn partition(arms: &[ArmRange]) -> Vec<Span> {
    let start = arms.iter().map(|arm| arm.lo).fold(f64::INFINITY, f64::min);
    let end = arms
        .iter()
        .map(|arm| arm.hi)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut spans = Vec::new();
    let mut z = start;
    while z < end && spans.len() < MAX_PANELS {
        let live_here = arms.iter().any(|arm| arm.lo <= z && z < arm.hi);
        let next = if live_here {
            let width = arms
                .iter()
                .filter_map(|arm| arm.widest_from(z))
                .fold(f64::INFINITY, f64::min);
            (z + width).min(end)
        } else {
            arms.iter()
                .map(|arm| arm.lo)
                .filter(|&lo| lo > z)
                .fold(end, f64::min)
        };
        if next <= z {
            // The width fell below the resolution of z: nothing more can be split here.
            break;
        }
        spans.push(Span { lo: z, hi: next });
        z = next;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(a: f64, b: f64, mode: f64) -> ArmRange {
        ArmRange::new(LogitBeta::new(a, b), mode)
    }

    #[test]
    fn the_uniform_posterior_reaches_as_far_as_its_exponential_tail_needs() {
        // Beta(1, 1): logit is logistic, mass beyond t is 1/(1 + e^t) ≈ e^−t, so the range
        // must reach at least ln(1e22) ≈ 50.7 on each side.
        let range = arm(1.0, 1.0, 0.0);
        assert!(range.hi >= 50.6 && -range.lo >= 50.6, "{range:?}");
        assert!(range.hi <= 70.0 * range.beta.sd);
    }

    #[test]
    fn a_near_normal_posterior_reaches_about_eleven_standard_deviations() {
        // Normal tail beyond 11 sd: ~2e-28; beyond 10 sd: ~8e-24 (scipy.stats.norm.sf).
        let range = arm(1e6, 9e6, 0.0);
        let reach = range.hi / range.beta.sd;
        assert!((9.0..=14.0).contains(&reach), "{reach}");
    }

    #[test]
    fn identical_arms_cost_what_one_arm_costs_and_far_arms_each_their_own() {
        let one = partition(&[arm(1e6, 9e6, 0.0)]).len();
        let two = partition(&[arm(1e6, 9e6, 0.0), arm(1e6, 9e6, 0.0)]).len();
        assert_eq!(one, two);
        let sd = LogitBeta::new(1e6, 9e6).sd;
        let arms = [arm(1e6, 9e6, 0.0), arm(1e6, 9e6, 100.0 * sd)];
        let apart = partition(&arms);
        let gap = |span: &&Span| !arms.iter().any(|a| a.live_in(span.lo, span.hi));
        assert_eq!(apart.iter().filter(|span| !gap(span)).count(), 2 * one);
        assert_eq!(apart.iter().filter(gap).count(), 1);
        // Overlapping by half: fewer panels than two separate arms.
        let overlapping = partition(&[arm(1e6, 9e6, 0.0), arm(1e6, 9e6, 5.0 * sd)]).len();
        assert!(overlapping < 2 * one, "{overlapping} vs {one}");
    }

    #[test]
    fn panels_tile_the_ranges_without_holes() {
        let arms = [
            arm(3.0, 40.0, 0.0),
            arm(1e9, 1e12, -2.0),
            arm(1.0, 5.0, 1.0),
        ];
        let spans = partition(&arms);
        for pair in spans.windows(2) {
            assert_eq!(pair[0].hi, pair[1].lo);
        }
        let lo = arms.iter().map(|a| a.lo).fold(f64::INFINITY, f64::min);
        let hi = arms.iter().map(|a| a.hi).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(spans[0].lo, lo);
        assert_eq!(spans[spans.len() - 1].hi, hi);
        assert!(spans.iter().all(|s| s.hi - s.lo <= 4.0 + 1e-12));
    }
}
