//! A/A calibration at 10⁷ units per arm (issue 17, item 6), simulated from sufficient
//! statistics: each look's new units per arm are one draw of their totals from the totals'
//! exact sampling distributions, never a loop over units.
//!
//! `cargo run --release -p touchstone-stats --example calibration_at_scale`
//!
//! - a conversion (p = 0.1): the look's converters ~ Binomial(m, p), drawn by inversion from
//!   the mode outwards (exact up to rounding; ~√(mpq) steps);
//! - a continuous metric (values ~ N(50, 30²), a revenue-like scale where Σx² − n·x̄² cancels
//!   most digits at 10⁷ units): the look's mean ~ N(μ, σ²/m) and, independently,
//!   (m − 1)·s²/σ² ~ χ²(m − 1) (Marsaglia–Tsang Gamma), so Σx = m·x̄ and
//!   Σx² = (m − 1)·s² + m·x̄² exactly as a store would have summed them.
//!
//! 20 looks of 500 000 units per arm (10⁷ at the last). Fixed horizon: Welch's p at the last
//! look below 0.05 (want 3.5 %–6.5 %). Sequential: the always-valid p below 0.05 at any of
//! the 20 looks (want ≤ 5 %), the test `analysis: "sequential"` decides with.
#![allow(clippy::print_stdout)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::function::gamma::ln_gamma;
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::welch::welch;
use touchstone_stats::{Counts, Sample};

const EXPERIMENTS: usize = 4_000;
const LOOKS: u64 = 20;
const UNITS_PER_LOOK: u64 = 500_000;
const ALPHA: f64 = 0.05;
const TUNING: f64 = 10_000.0;
const RATE: f64 = 0.1;
const MEAN: f64 = 50.0;
const SD: f64 = 30.0;

/// Binomial(n, p) by inversion, searching from the mode alternately up and down; the pmf at
/// the mode from ln Γ, its neighbours by the ratio pmf(k+1)/pmf(k) = (n−k)/(k+1)·p/q.
fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let nf = n as f64;
    let mode = (((nf + 1.0) * p).floor() as u64).min(n);
    let m = mode as f64;
    let ln_pmf = ln_gamma(nf + 1.0) - ln_gamma(m + 1.0) - ln_gamma(nf - m + 1.0)
        + m * p.ln()
        + (nf - m) * q.ln();
    let mut u: f64 = rng.random::<f64>() - ln_pmf.exp();
    if u <= 0.0 {
        return mode;
    }
    let (mut up, mut up_pmf) = (mode, ln_pmf.exp());
    let (mut down, mut down_pmf) = (mode, up_pmf);
    loop {
        if up < n {
            up_pmf *= (nf - up as f64) / (up as f64 + 1.0) * p / q;
            up += 1;
            u -= up_pmf;
            if u <= 0.0 {
                return up;
            }
        }
        if down > 0 {
            down_pmf *= down as f64 / (nf - down as f64 + 1.0) * q / p;
            down -= 1;
            u -= down_pmf;
            if u <= 0.0 {
                return down;
            }
        }
        if (up == n && down == 0) || (up_pmf < 1e-300 && down_pmf < 1e-300) {
            // Rounding left u a hair above 0 after the whole support: the mode is as good.
            return mode;
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
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
        let u: f64 = 1.0 - rng.random::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Running sufficient statistics of one arm's continuous metric.
#[derive(Default, Clone, Copy)]
struct Moments {
    n: u64,
    sum: f64,
    sum_squares: f64,
}

impl Moments {
    /// Adds m new units with values ~ N(MEAN, SD²), from their sufficient statistics.
    fn add_look(&mut self, rng: &mut StdRng, m: u64) {
        let mf = m as f64;
        let mean = MEAN + SD / mf.sqrt() * normal(rng);
        let squares_about_mean = SD * SD * 2.0 * gamma(rng, (mf - 1.0) / 2.0);
        self.n += m;
        self.sum += mf * mean;
        self.sum_squares += squares_about_mean + mf * mean * mean;
    }

    fn sample(&self) -> Option<Sample> {
        Sample::from_moments(self.n, self.sum, self.sum_squares).ok()
    }
}

/// (fixed-horizon p < α at the last look, always-valid p < α at any look).
#[derive(Default)]
struct Tally {
    fixed: usize,
    sequential: usize,
    undefined: usize,
}

impl Tally {
    fn look(&mut self, a: Option<Sample>, b: Option<Sample>, last: bool, seq_hit: &mut bool) {
        let test = a.zip(b).and_then(|(a, b)| welch(&a, &b, ALPHA).ok());
        let Some((a, b, test)) = a.zip(b).zip(test).map(|((a, b), t)| (a, b, t)) else {
            self.undefined += 1;
            return;
        };
        let total = a.n + b.n;
        *seq_hit |= confidence_sequence(test.estimate, test.standard_error, total, ALPHA, TUNING)
            .is_ok_and(|s| s.p_value < ALPHA);
        if last {
            self.fixed += usize::from(test.p_value < ALPHA);
            self.sequential += usize::from(*seq_hit);
        }
    }

    fn rates(&self) -> (f64, f64) {
        let n = EXPERIMENTS as f64;
        (self.fixed as f64 / n, self.sequential as f64 / n)
    }
}

/// Mean and variance of 4 000 draws against the binomial's: a check of the sampler itself.
fn check_the_binomial_draw(rng: &mut StdRng) -> (f64, f64) {
    let draws: Vec<f64> = (0..4_000)
        .map(|_| binomial(rng, UNITS_PER_LOOK, RATE) as f64)
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws.len() - 1) as f64;
    let n = UNITS_PER_LOOK as f64;
    (mean / (n * RATE), variance / (n * RATE * (1.0 - RATE)))
}

fn main() {
    let mut rng = StdRng::seed_from_u64(17);
    let (mean_ratio, variance_ratio) = check_the_binomial_draw(&mut rng);
    println!(
        "binomial draw (m = {UNITS_PER_LOOK}, p = {RATE}), 4 000 draws: mean / mp = {mean_ratio:.5}, \
         variance / mpq = {variance_ratio:.4} (want 1 ± 0.0002 and 1 ± 0.07)"
    );
    let (mut rates, mut values) = (Tally::default(), Tally::default());
    for _ in 0..EXPERIMENTS {
        let (mut ca, mut cb) = (Counts::default(), Counts::default());
        let (mut ma, mut mb) = (Moments::default(), Moments::default());
        let (mut rate_hit, mut value_hit) = (false, false);
        for look in 1..=LOOKS {
            ca = Counts::new(
                ca.units + UNITS_PER_LOOK,
                ca.reached + binomial(&mut rng, UNITS_PER_LOOK, RATE),
            );
            cb = Counts::new(
                cb.units + UNITS_PER_LOOK,
                cb.reached + binomial(&mut rng, UNITS_PER_LOOK, RATE),
            );
            ma.add_look(&mut rng, UNITS_PER_LOOK);
            mb.add_look(&mut rng, UNITS_PER_LOOK);
            let last = look == LOOKS;
            rates.look(
                Sample::from_counts(ca).ok(),
                Sample::from_counts(cb).ok(),
                last,
                &mut rate_hit,
            );
            values.look(ma.sample(), mb.sample(), last, &mut value_hit);
        }
    }
    println!(
        "{EXPERIMENTS} A/A experiments, {LOOKS} looks of {UNITS_PER_LOOK} units per arm \
         ({} per arm at the last look), alpha {ALPHA}, tuning {TUNING}",
        LOOKS * UNITS_PER_LOOK
    );
    for (name, tally) in [
        ("conversion p = 0.1       ", &rates),
        ("values N(50, 30²)        ", &values),
    ] {
        let (fixed, sequential) = tally.rates();
        println!(
            "{name} fixed horizon p < 0.05 at 10⁷: {fixed:.4} (want 0.035..0.065)   \
             always-valid, any of 20 looks: {sequential:.4} (want <= 0.05)   undefined: {}",
            tally.undefined
        );
    }
}
