//! Seeded simulations of CUPED from sufficient statistics, shared by the calibration tests and
//! the `cuped_calibration` example that prints the figures. Units are bivariate normal
//! (covariate x, outcome y) with correlation ρ; an arm's running sums are drawn exactly without
//! a per-unit loop: the means are normal with covariance Σ/n and the scatter matrix is
//! Wishart(n − 1, Σ), drawn by Bartlett's decomposition (Bartlett 1933; e.g. Anderson,
//! "An Introduction to Multivariate Statistical Analysis", §7.2) with χ² draws from
//! Marsaglia & Tsang's gamma method (2000).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use touchstone_stats::cuped::{self, CovariateMoments};
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::welch::welch;

pub const EXPERIMENTS: usize = 2_000;
pub const ALPHA: f64 = 0.05;
pub const RHO: f64 = 0.6;
/// Per arm: 20 000 units in all.
pub const UNITS_PER_ARM: u64 = 10_000;

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller; 1 − u keeps the logarithm finite.
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Gamma(shape, 1) for shape ≥ 1 (Marsaglia & Tsang 2000).
fn gamma(rng: &mut StdRng, shape: f64) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

fn chi_square(rng: &mut StdRng, df: f64) -> f64 {
    2.0 * gamma(rng, df / 2.0)
}

/// The running sums of `n` units with x ~ N(x_mean, 1), y ~ N(y_mean, 1), corr(x, y) = ρ.
pub fn draw_arm(rng: &mut StdRng, n: u64, x_mean: f64, y_mean: f64, rho: f64) -> CovariateMoments {
    let nf = n as f64;
    // Cholesky factor of Σ = [[1, ρ], [ρ, 1]].
    let (l11, l21, l22) = (1.0, rho, (1.0 - rho * rho).sqrt());
    let (z1, z2) = (normal(rng), normal(rng));
    let mx = x_mean + l11 * z1 / nf.sqrt();
    let my = y_mean + (l21 * z1 + l22 * z2) / nf.sqrt();
    // Bartlett: A = [[c1, 0], [b, c2]], scatter = L·A·Aᵀ·Lᵀ.
    let c1 = chi_square(rng, nf - 1.0).sqrt();
    let c2 = chi_square(rng, nf - 2.0).sqrt();
    let b = normal(rng);
    let (a11, a21, a22) = (c1, b, c2);
    // L·A
    let (m11, m21, m22) = (l11 * a11, l21 * a11 + l22 * a21, l22 * a22);
    let sxx = m11 * m11;
    let sxy = m11 * m21;
    let syy = m21 * m21 + m22 * m22;
    CovariateMoments {
        n,
        sum: nf * my,
        sum_squares: syy + nf * my * my,
        covariate_sum: nf * mx,
        covariate_sum_squares: sxx + nf * mx * mx,
        sum_of_products: sxy + nf * mx * my,
    }
}

fn add(a: &CovariateMoments, b: &CovariateMoments) -> CovariateMoments {
    CovariateMoments {
        n: a.n + b.n,
        sum: a.sum + b.sum,
        sum_squares: a.sum_squares + b.sum_squares,
        covariate_sum: a.covariate_sum + b.covariate_sum,
        covariate_sum_squares: a.covariate_sum_squares + b.covariate_sum_squares,
        sum_of_products: a.sum_of_products + b.sum_of_products,
    }
}

/// Mean ratio of the adjusted to the unadjusted 95 % CI width (≈ √(1 − ρ²) = 0.8).
pub fn width_ratio(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let runs = 50;
    let mut total = 0.0;
    for _ in 0..runs {
        let a = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0, RHO);
        let b = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0, RHO);
        let adjusted = cuped::compare(&a, &b, ALPHA).expect("defined");
        let plain = welch(
            &a.outcome().expect("defined"),
            &b.outcome().expect("defined"),
            ALPHA,
        )
        .expect("defined");
        total += (adjusted.absolute.ci[1] - adjusted.absolute.ci[0]) / (plain.ci[1] - plain.ci[0]);
    }
    total / runs as f64
}

/// Share of A/A experiments whose adjusted test has p < α.
pub fn aa_false_positive_rate(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let rejected = (0..EXPERIMENTS)
        .filter(|_| {
            let a = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0, RHO);
            let b = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0, RHO);
            cuped::compare(&a, &b, ALPHA)
                .expect("defined")
                .absolute
                .p_value
                < ALPHA
        })
        .count();
    rejected as f64 / EXPERIMENTS as f64
}

/// Share of experiments (true difference 0.03) whose adjusted 95 % CI covers the truth.
pub fn coverage(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let truth = 0.03;
    let covered = (0..EXPERIMENTS)
        .filter(|_| {
            let a = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0, RHO);
            let b = draw_arm(&mut rng, UNITS_PER_ARM, 3.0, 10.0 + truth, RHO);
            let ci = cuped::compare(&a, &b, ALPHA).expect("defined").absolute.ci;
            ci[0] <= truth && truth <= ci[1]
        })
        .count();
    covered as f64 / EXPERIMENTS as f64
}

/// Share of A/A experiments whose always-valid interval on the adjusted statistics excludes 0
/// at any of 20 daily looks (500 new units per arm a day).
pub fn sequential_false_positive_rate(seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let rejected = (0..EXPERIMENTS)
        .filter(|_| {
            let (mut a, mut b) = (CovariateMoments::default(), CovariateMoments::default());
            (0..20).any(|_| {
                a = add(&a, &draw_arm(&mut rng, 500, 3.0, 10.0, RHO));
                b = add(&b, &draw_arm(&mut rng, 500, 3.0, 10.0, RHO));
                let test = cuped::compare(&a, &b, ALPHA).expect("defined").absolute;
                confidence_sequence(
                    test.estimate,
                    test.standard_error,
                    a.n + b.n,
                    ALPHA,
                    10_000.0,
                )
                .expect("defined")
                .p_value
                    < ALPHA
            })
        })
        .count();
    rejected as f64 / EXPERIMENTS as f64
}
