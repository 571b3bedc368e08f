//! Chance to beat, expected loss and chance to be best for Beta posteriors by quadrature on
//! the logit scale, in time independent of the counts (decision 017).
//!
//! Every arm's logit density is evaluated at the nodes of one partition of the line
//! ([`super::partition`]: panels as wide as the narrowest arm live there allows, over each
//! arm's live range only), with 20-point Gauss–Legendre; the spectral integration matrix of
//! [`super::quadrature`] gives each arm's CDF (from the left) and survival (from the right, so
//! small tails keep their relative digits) at every node. An arm is evaluated only in the
//! panels of its live range: elsewhere its mass is below 1e-22 and its CDF is the constant
//! its running totals give. Points are offsets from the first arm's mode, so a posterior as
//! narrow as 1e-10 keeps its resolution.

use super::logit_beta::LogitBeta;
use super::partition::{ArmRange, partition};
use super::quadrature::{NODES, rule};

/// Every arm's density and mass on one partition.
pub(crate) struct Grid {
    /// The first arm's mode on the logit scale; points are offsets from it.
    reference: f64,
    panels: Vec<Panel>,
    /// Per arm: total mass (≈ 1; dividing by it cancels the normalization's rounding).
    totals: Vec<f64>,
}

struct Panel {
    lo: f64,
    hi: f64,
    /// Per arm: density at the nodes, mass up to each node, mass from each node, panel mass.
    arms: Vec<PanelArm>,
}

#[derive(Clone)]
struct PanelArm {
    /// Inside the arm's live range: density and partial masses were evaluated (else zero).
    live: bool,
    density: [f64; NODES],
    up_to: [f64; NODES],
    from: [f64; NODES],
    mass: f64,
    /// Mass of the arm left of this panel, and right of it.
    before: f64,
    after: f64,
}

/// ln(x/y) for positive x, y, keeping digits when x ≈ y.
fn ln_ratio(x: f64, y: f64) -> f64 {
    let d = (x - y) / y;
    if d.abs() < 0.5 {
        d.ln_1p()
    } else {
        (x / y).ln()
    }
}

impl Grid {
    /// `params`: (a, b) of each arm's Beta posterior, each ≥ 1.
    pub fn new(params: &[(f64, f64)]) -> Self {
        let rule = rule();
        let (a0, b0) = params[0];
        let reference = (a0 / b0).ln();
        let arms: Vec<ArmRange> = params
            .iter()
            .map(|&(a, b)| ArmRange::new(LogitBeta::new(a, b), ln_ratio(a, a0) - ln_ratio(b, b0)))
            .collect();
        let mut panels: Vec<Panel> = partition(&arms)
            .into_iter()
            .map(|span| {
                let (lo, hi) = (span.lo, span.hi);
                let (mid, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
                let arms = arms
                    .iter()
                    .map(|arm_range| {
                        let mut arm = PanelArm {
                            live: false,
                            density: [0.0; NODES],
                            up_to: [0.0; NODES],
                            from: [0.0; NODES],
                            mass: 0.0,
                            before: 0.0,
                            after: 0.0,
                        };
                        if !arm_range.live_in(lo, hi) {
                            return arm;
                        }
                        arm.live = true;
                        for (value, t) in arm.density.iter_mut().zip(rule.nodes) {
                            *value = arm_range
                                .beta
                                .ln_density(mid + half * t - arm_range.mode)
                                .exp();
                        }
                        arm.mass = half
                            * rule
                                .weights
                                .iter()
                                .zip(arm.density)
                                .map(|(w, g)| w * g)
                                .sum::<f64>();
                        for i in 0..NODES {
                            let (mut left, mut right) = (0.0, 0.0);
                            for j in 0..NODES {
                                left += rule.left[i][j] * arm.density[j];
                                right += rule.right[i][j] * arm.density[j];
                            }
                            arm.up_to[i] = (half * left).max(0.0);
                            arm.from[i] = (half * right).max(0.0);
                        }
                        arm
                    })
                    .collect();
                Panel { lo, hi, arms }
            })
            .collect();
        let mut totals = vec![0.0; arms.len()];
        for (index, total) in totals.iter_mut().enumerate() {
            let mut running = 0.0;
            for panel in panels.iter_mut() {
                panel.arms[index].before = running;
                running += panel.arms[index].mass;
            }
            *total = running;
            let mut running = 0.0;
            for panel in panels.iter_mut().rev() {
                panel.arms[index].after = running;
                running += panel.arms[index].mass;
            }
        }
        Self {
            reference,
            panels,
            totals,
        }
    }

    /// P(arm `y` > arm `x`).
    pub fn chance_greater(&self, x: usize, y: usize) -> f64 {
        let rule = rule();
        let mut sum = 0.0;
        for panel in self.panels.iter().filter(|p| p.arms[x].live) {
            let half = (panel.hi - panel.lo) / 2.0;
            let (px, py) = (&panel.arms[x], &panel.arms[y]);
            let mut inner = 0.0;
            for i in 0..NODES {
                let survival = (py.after + py.from[i]) / self.totals[y];
                inner += rule.weights[i] * px.density[i] * survival;
            }
            sum += half * inner;
        }
        (sum / self.totals[x]).clamp(0.0, 1.0)
    }

    /// E[max(X − Y, 0)] on the rate scale: ∫ P(Y < t) · P(X > t) dt, every term ≥ 0.
    pub fn expected_excess(&self, x: usize, y: usize) -> f64 {
        let rule = rule();
        let mut sum = 0.0;
        for panel in &self.panels {
            let (px, py) = (&panel.arms[x], &panel.arms[y]);
            if !px.live && !py.live {
                // Outside both arms' ranges each CDF is constant: the integrand is F_Y·S_X·dt.
                let below = py.before / self.totals[y];
                let above = px.after / self.totals[x];
                if below > 0.0 && above > 0.0 {
                    let width =
                        logistic_between(self.reference + panel.lo, self.reference + panel.hi);
                    sum += below * above * width;
                }
                continue;
            }
            let (mid, half) = ((panel.lo + panel.hi) / 2.0, (panel.hi - panel.lo) / 2.0);
            let mut inner = 0.0;
            for i in 0..NODES {
                let below = (py.before + py.up_to[i]) / self.totals[y];
                let above = (px.after + px.from[i]) / self.totals[x];
                let v = self.reference + mid + half * rule.nodes[i];
                inner += rule.weights[i] * below * above * logistic_density(v);
            }
            sum += half * inner;
        }
        sum.max(0.0)
    }

    /// P(arm `k` is the largest of all).
    pub fn chance_best(&self, k: usize) -> f64 {
        let rule = rule();
        let mut sum = 0.0;
        for panel in self.panels.iter().filter(|p| p.arms[k].live) {
            let half = (panel.hi - panel.lo) / 2.0;
            let mut inner = 0.0;
            for i in 0..NODES {
                let others: f64 = panel
                    .arms
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|(j, arm)| ((arm.before + arm.up_to[i]) / self.totals[j]).min(1.0))
                    .product();
                inner += rule.weights[i] * panel.arms[k].density[i] * others;
            }
            sum += half * inner;
        }
        (sum / self.totals[k]).clamp(0.0, 1.0)
    }
}

/// dx/dv for x = σ(v): σ(v)·σ(−v), without overflow.
fn logistic_density(v: f64) -> f64 {
    let e = (-v.abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

/// σ(hi) − σ(lo), from the side where neither is close to 1.
fn logistic_between(lo: f64, hi: f64) -> f64 {
    let sigma = |v: f64| 1.0 / (1.0 + (-v).exp());
    if lo >= 0.0 {
        sigma(-lo) - sigma(-hi)
    } else {
        sigma(hi) - sigma(lo)
    }
}
