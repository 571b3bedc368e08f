//! Gauss–Legendre panels with a spectral integration matrix: on each panel the densities are
//! evaluated once at the 20 nodes, and the matrix turns those values into the integral from
//! the panel's left end to every node (and from every node to its right end), so a CDF is
//! known at every node for the price of the density alone.

use std::sync::OnceLock;

/// Nodes per panel.
pub(crate) const NODES: usize = 20;

pub(crate) struct Rule {
    /// Gauss–Legendre nodes on [−1, 1], ascending.
    pub nodes: [f64; NODES],
    pub weights: [f64; NODES],
    /// `left[i][j]` = ∫_{−1}^{nodes[i]} ℓ_j: the integral up to node i of the interpolant of
    /// values at the nodes (ℓ_j the Lagrange basis).
    pub left: [[f64; NODES]; NODES],
    /// `right[i][j]` = ∫_{nodes[i]}^{1} ℓ_j.
    pub right: [[f64; NODES]; NODES],
}

/// The rule, computed once.
pub(crate) fn rule() -> &'static Rule {
    static RULE: OnceLock<Rule> = OnceLock::new();
    RULE.get_or_init(build)
}

/// Legendre P_n and its derivative at x, by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 2..=n {
        let k = k as f64;
        let p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    let derivative = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, derivative)
}

fn build() -> Rule {
    let n = NODES;
    let mut nodes = [0.0; NODES];
    let mut weights = [0.0; NODES];
    for i in 0..n {
        // Newton from the Chebyshev-like guess (Abramowitz & Stegun 25.4.29 for weights).
        let mut x = -(std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (p, dp) = legendre(n, x);
            let step = p / dp;
            x -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        let (_, dp) = legendre(n, x);
        nodes[i] = x;
        weights[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    let lagrange = |j: usize, t: f64| {
        (0..n)
            .filter(|&k| k != j)
            .map(|k| (t - nodes[k]) / (nodes[j] - nodes[k]))
            .product::<f64>()
    };
    // ∫_lo^hi ℓ_j exactly: ℓ_j has degree n − 1 and the n-point rule is exact to 2n − 1.
    let integral = |j: usize, lo: f64, hi: f64| {
        let (mid, half) = ((hi + lo) / 2.0, (hi - lo) / 2.0);
        half * (0..n)
            .map(|k| weights[k] * lagrange(j, mid + half * nodes[k]))
            .sum::<f64>()
    };
    let mut left = [[0.0; NODES]; NODES];
    let mut right = [[0.0; NODES]; NODES];
    for i in 0..n {
        for j in 0..n {
            left[i][j] = integral(j, -1.0, nodes[i]);
            right[i][j] = integral(j, nodes[i], 1.0);
        }
    }
    Rule {
        nodes,
        weights,
        left,
        right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_integrates_smooth_functions_and_their_antiderivatives() {
        let rule = rule();
        let total: f64 = rule.weights.iter().sum();
        assert!((total - 2.0).abs() < 1e-14);
        // ∫_{−1}^{t} e^x dx = e^t − e^{−1} at every node, and ∫_t^1 likewise.
        let values: Vec<f64> = rule.nodes.iter().map(|x| x.exp()).collect();
        for i in 0..NODES {
            let up_to: f64 = (0..NODES).map(|j| rule.left[i][j] * values[j]).sum();
            let from: f64 = (0..NODES).map(|j| rule.right[i][j] * values[j]).sum();
            let t = rule.nodes[i];
            assert!((up_to - (t.exp() - (-1.0_f64).exp())).abs() < 1e-14);
            assert!((from - (1.0_f64.exp() - t.exp())).abs() < 1e-14);
        }
    }
}
