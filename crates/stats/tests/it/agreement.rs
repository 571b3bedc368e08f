//! One verdict per comparison (issue 17): over random valid inputs, every interval a result
//! shows excludes 0 exactly when its test is significant — Welch's absolute interval and
//! Fieller's relative one at alpha, and the verdict interval (sequential or fixed, at the level
//! the Holm correction used) exactly when `significant`.

use proptest::prelude::*;
use serde_json::json;
use touchstone_stats::analysis::{Verdict, analyze_input};
use touchstone_stats::welch::{relative_effect, welch};
use touchstone_stats::{Counts, Sample};

fn excludes_zero([lo, hi]: [f64; 2]) -> bool {
    lo > 0.0 || hi < 0.0
}

/// Far enough from the boundary that the last bits of a quantile cannot decide.
fn clear_of(p: f64, alpha: f64) -> bool {
    (p - alpha).abs() > 1e-9 * alpha
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn welch_and_fieller_intervals_exclude_zero_exactly_when_p_is_below_alpha(
        na in 2_u64..100_000, xa in 0.0..1.0_f64, nb in 2_u64..100_000, xb in 0.0..1.0_f64,
        alpha in prop::sample::select(vec![0.01, 0.05, 0.1, 0.2]),
    ) {
        let a = Sample::from_counts(Counts::new(na, (xa * na as f64) as u64)).expect("defined");
        let b = Sample::from_counts(Counts::new(nb, (xb * nb as f64) as u64)).expect("defined");
        let Ok(test) = welch(&a, &b, alpha) else { return Ok(()); };
        prop_assume!(clear_of(test.p_value, alpha));
        let significant = test.p_value < alpha;
        prop_assert_eq!(excludes_zero(test.ci), significant);
        if let Ok(relative) = relative_effect(&a, &b, alpha, test.df)
            && let Ok(ci) = relative.ci
        {
            prop_assert!(ci[0] < ci[1]);
            prop_assert_eq!(excludes_zero(ci), significant, "{:?}", ci);
        }
    }

    #[test]
    fn the_verdict_interval_excludes_zero_exactly_when_the_result_is_significant(
        units in prop::collection::vec(50_u64..200_000, 3),
        rates in prop::collection::vec(0.001..0.6_f64, 6),
        fixed in any::<bool>(),
    ) {
        let arm = |i: usize| json!({
            "key": format!("v{i}"), "units": units[i],
            "stages": {
                "cart": (rates[i] * units[i] as f64) as u64,
                "buy": (rates[i] * rates[i + 3] * units[i] as f64) as u64,
            },
        });
        let input = json!({
            "journey": ["cart", "buy"], "variants": [arm(0), arm(1), arm(2)],
            "analysis": if fixed { "fixed" } else { "sequential" }, "mde": 0.5,
        });
        let results = analyze_input(&input).expect("valid input");
        for comparison in results.stages.iter().flat_map(|s| &s.variants).filter_map(|v| v.vs_control.as_ref()) {
            let Some(interval) = &comparison.verdict_interval else {
                prop_assert!(!comparison.significant);
                continue;
            };
            if let Some(p) = interval.p_value {
                prop_assume!(clear_of(p, 0.05));
            }
            prop_assert_eq!(excludes_zero(interval.absolute), comparison.significant);
            if let Some(relative) = interval.relative {
                prop_assert_eq!(excludes_zero(relative), comparison.significant);
            }
            prop_assert_eq!(
                comparison.significant,
                matches!(comparison.verdict, Verdict::Better | Verdict::Worse)
            );
        }
    }
}
