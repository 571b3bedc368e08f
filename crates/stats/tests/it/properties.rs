//! Invariants over random inputs: swapping the arms flips every sign, and the unit of a
//! metric (cents or euros) changes no p-value.

use proptest::prelude::*;
use touchstone_stats::bayes::{beta_chance_to_beat, normal_chance_to_beat};
use touchstone_stats::sequential::confidence_sequence;
use touchstone_stats::welch::{relative_effect, welch};
use touchstone_stats::{Counts, Sample};

fn arm() -> impl Strategy<Value = Sample> {
    (2_u64..5_000, -50.0..50.0_f64, 0.01..400.0_f64).prop_map(|(n, mean, variance)| Sample {
        n,
        mean,
        variance,
    })
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

proptest! {
    #[test]
    fn swapping_control_and_variant_flips_the_signs(a in arm(), b in arm()) {
        let forward = welch(&a, &b, 0.05).expect("defined");
        let backward = welch(&b, &a, 0.05).expect("defined");
        prop_assert!(near(forward.estimate, -backward.estimate));
        prop_assert!(near(forward.p_value, backward.p_value));
        prop_assert!(near(forward.ci[0], -backward.ci[1]));
        prop_assert!(near(forward.ci[1], -backward.ci[0]));
        let n = a.n + b.n;
        let s1 = confidence_sequence(forward.estimate, forward.standard_error, n, 0.05, 10_000.0).expect("defined");
        let s2 = confidence_sequence(backward.estimate, backward.standard_error, n, 0.05, 10_000.0).expect("defined");
        prop_assert!(near(s1.p_value, s2.p_value));
        prop_assert!(near(s1.ci[0], -s2.ci[1]));
        let c1 = normal_chance_to_beat(&a, &b).expect("defined");
        let c2 = normal_chance_to_beat(&b, &a).expect("defined");
        prop_assert!((c1 + c2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn swapping_rates_turns_the_chance_to_beat_into_its_complement(
        na in 1_u64..3_000, nb in 1_u64..3_000, xa in 0.0..1.0_f64, xb in 0.0..1.0_f64,
    ) {
        let a = Counts::new(na, (xa * na as f64) as u64);
        let b = Counts::new(nb, (xb * nb as f64) as u64);
        let forward = beta_chance_to_beat(a, b).expect("defined");
        let backward = beta_chance_to_beat(b, a).expect("defined");
        prop_assert!((forward + backward - 1.0).abs() < 1e-9, "{forward} + {backward}");
    }

    #[test]
    fn scaling_every_value_leaves_p_values_and_relative_effects_unchanged(
        a in arm(), b in arm(), factor in 0.001..1_000.0_f64,
    ) {
        let (sa, sb) = (a.scaled(factor), b.scaled(factor));
        let plain = welch(&a, &b, 0.05).expect("defined");
        let scaled = welch(&sa, &sb, 0.05).expect("defined");
        prop_assert!(near(plain.p_value, scaled.p_value));
        prop_assert!(near(plain.df, scaled.df));
        prop_assert!(near(plain.estimate * factor, scaled.estimate));
        let s1 = confidence_sequence(plain.estimate, plain.standard_error, a.n + b.n, 0.05, 10_000.0).expect("defined");
        let s2 = confidence_sequence(scaled.estimate, scaled.standard_error, a.n + b.n, 0.05, 10_000.0).expect("defined");
        prop_assert!(near(s1.p_value, s2.p_value));
        if a.mean > 1e-3 {
            let r1 = relative_effect(&a, &b, 0.05, plain.df).expect("defined");
            let r2 = relative_effect(&sa, &sb, 0.05, scaled.df).expect("defined");
            prop_assert!(near(r1.estimate, r2.estimate));
            prop_assert!(near(r1.standard_error, r2.standard_error));
        }
        let c1 = normal_chance_to_beat(&a, &b).expect("defined");
        let c2 = normal_chance_to_beat(&sa, &sb).expect("defined");
        prop_assert!((c1 - c2).abs() < 1e-9);
    }
}
