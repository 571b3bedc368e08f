//! Beta chance to beat, expected loss and chance to be best against mpmath at 50 digits
//! (`tests/reference/beta_reference.py` → `beta.json`), on a grid from one unit to 2⁶⁴ − 1
//! units that includes issue 17's cases. Bounds: chance ≤ 1e-6 absolute, loss ≤ 1e-4
//! relative or ≤ 1e-12 absolute.

use serde_json::Value;
use touchstone_stats::Counts;
use touchstone_stats::bayes::{beta_chance_to_be_best, beta_comparison};

fn counts(value: &Value) -> Counts {
    let units = value["units"].as_u64().expect("units");
    let reached = value["reached"].as_u64().expect("reached");
    Counts::new(units, reached)
}

fn number(value: &Value) -> f64 {
    value
        .as_str()
        .expect("a decimal string")
        .parse()
        .expect("a number")
}

fn loss_close(ours: f64, reference: f64) -> bool {
    (ours - reference).abs() <= 1e-12 || (ours - reference).abs() <= 1e-4 * reference.abs()
}

#[test]
fn beta_comparisons_match_mpmath_at_every_size() {
    let reference: Value =
        serde_json::from_str(include_str!("../reference/beta.json")).expect("reference parses");
    let mut worst_chance: f64 = 0.0;
    // The loss's error as a share of its bound (1e-4 relative or 1e-12 absolute): ≤ 1 passes.
    let mut worst_loss_share: f64 = 0.0;
    for case in reference["pairs"].as_array().expect("pairs") {
        let why = case["why"].as_str().unwrap_or_default();
        let ours =
            beta_comparison(counts(&case["control"]), counts(&case["variant"])).expect("defined");
        let chance = number(&case["chance_to_beat"]);
        worst_chance = worst_chance.max((ours.variant_higher - chance).abs());
        assert!(
            (ours.variant_higher - chance).abs() <= 1e-6,
            "{why}: chance {} vs {chance}",
            ours.variant_higher
        );
        for (ours, key) in [
            (ours.loss_if_higher_is_better, "loss_if_higher_is_better"),
            (ours.loss_if_lower_is_better, "loss_if_lower_is_better"),
        ] {
            let reference = number(&case[key]);
            let error = (ours - reference).abs();
            worst_loss_share =
                worst_loss_share.max(error / (1e-12_f64).max(1e-4 * reference.abs()));
            assert!(
                loss_close(ours, reference),
                "{why}: {key} {ours} vs {reference}"
            );
        }
    }
    for case in reference["best"].as_array().expect("best") {
        let arms: Vec<Counts> = case["arms"]
            .as_array()
            .expect("arms")
            .iter()
            .map(counts)
            .collect();
        let ours = beta_chance_to_be_best(&arms).expect("defined");
        for (ours, reference) in ours
            .iter()
            .zip(case["chance_to_be_best"].as_array().expect("best"))
        {
            assert!(
                (ours - number(reference)).abs() <= 1e-6,
                "{}: {ours}",
                case["why"]
            );
        }
    }
    eprintln!(
        "largest chance error against mpmath: {worst_chance:e}; largest loss error: \
         {worst_loss_share:e} of its bound"
    );
}
