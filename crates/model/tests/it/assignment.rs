//! Properties of assignment: stable, uniform, independent between salts, monotone in traffic,
//! faithful to weights.
//!
//! Chi-square critical values are the upper 0.1% points from the NIST/SEMATECH e-Handbook of
//! Statistical Methods, §1.3.6.7.4 "Critical Values of the Chi-Square Distribution". The ids
//! are fixed, so each statistic is a fixed number: these tests cannot flake, and would fail
//! for a hash biased enough to be rejected at the 0.1% level.

use super::{base_json, experiment, spec_from};
use proptest::prelude::*;
use serde_json::json;
use touchstone_model::Experiment;
use touchstone_model::assignment::{bucket_ranges, choose_variant, hash_v2};

/// χ²(0.999) with 1, 2 and 9 degrees of freedom (NIST/SEMATECH §1.3.6.7.4).
const CHI2_999_DF1: f64 = 10.828;
const CHI2_999_DF2: f64 = 13.816;
const CHI2_999_DF9: f64 = 27.877;

const UNITS: usize = 100_000;

fn unit(index: usize) -> String {
    format!("unit-{index}")
}

/// Σ (observed − expected)² / expected.
fn chi_square(observed: &[u64], expected: &[f64]) -> f64 {
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum()
}

fn with_variants(salt: &str, weights: &[f64], traffic: f64) -> Experiment {
    let variants: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(index, weight)| json!({"key": format!("v{index}"), "weight": weight}))
        .collect();
    let mut value = base_json();
    value["variants"] = json!(variants);
    value["control"] = json!("v0");
    value["salt"] = json!(salt);
    value["traffic"] = json!(traffic);
    experiment(spec_from(value))
}

#[test]
fn hash_buckets_are_uniform_over_100k_ids() {
    for salt in ["pdp-gallery", "checkout-free-shipping", "s"] {
        let mut counts = [0_u64; 10];
        for index in 0..UNITS {
            // hash_v2 is k / 10000 for an integer k: recover k exactly, then take its decile.
            let k = (hash_v2(salt, &unit(index)) * 10_000.0).round() as usize;
            counts[k / 1_000] += 1;
        }
        let statistic = chi_square(&counts, &[UNITS as f64 / 10.0; 10]);
        assert!(
            statistic < CHI2_999_DF9,
            "salt {salt}: χ² = {statistic}, counts {counts:?}"
        );
    }
}

#[test]
fn ten_equal_variants_each_get_a_tenth_of_100k_units() {
    let experiment = with_variants("ten-way", &[1.0; 10], 1.0);
    let mut counts = [0_u64; 10];
    for index in 0..UNITS {
        let variant = experiment
            .assign(&unit(index))
            .expect("full traffic assigns everyone");
        counts[variant] += 1;
    }
    let statistic = chi_square(&counts, &[UNITS as f64 / 10.0; 10]);
    assert!(
        statistic < CHI2_999_DF9,
        "χ² = {statistic}, counts {counts:?}"
    );
}

#[test]
fn experiments_with_different_salts_split_independently() {
    // 4 × 4 contingency table of the two experiments' variants; df = (4−1)(4−1) = 9.
    let first = with_variants("pdp-gallery", &[1.0; 4], 1.0);
    let second = with_variants("checkout-free-shipping", &[1.0; 4], 1.0);
    let mut table = [[0_u64; 4]; 4];
    for index in 0..UNITS {
        let id = unit(index);
        let a = first.assign(&id).expect("assigned");
        let b = second.assign(&id).expect("assigned");
        table[a][b] += 1;
    }
    let rows: Vec<u64> = table.iter().map(|row| row.iter().sum()).collect();
    let columns: Vec<u64> = (0..4)
        .map(|b| table.iter().map(|row| row[b]).sum())
        .collect();
    let mut observed = Vec::new();
    let mut expected = Vec::new();
    for (a, row) in table.iter().enumerate() {
        for (b, &count) in row.iter().enumerate() {
            observed.push(count);
            expected.push(rows[a] as f64 * columns[b] as f64 / UNITS as f64);
        }
    }
    let statistic = chi_square(&observed, &expected);
    assert!(
        statistic < CHI2_999_DF9,
        "χ² = {statistic}, table {table:?}"
    );
}

#[test]
fn assign_splits_units_in_proportion_to_the_weights() {
    // Weights 1 : 2 : 7 are normalized to 0.1 / 0.2 / 0.7; df = 2.
    let experiment = with_variants("weighted", &[1.0, 2.0, 7.0], 1.0);
    let mut counts = [0_u64; 3];
    for index in 0..UNITS {
        counts[experiment.assign(&unit(index)).expect("assigned")] += 1;
    }
    let expected = [0.1, 0.2, 0.7].map(|share| share * UNITS as f64);
    let statistic = chi_square(&counts, &expected);
    assert!(
        statistic < CHI2_999_DF2,
        "χ² = {statistic}, counts {counts:?}"
    );
}

#[test]
fn partial_traffic_includes_that_share_of_units_split_by_weight() {
    let experiment = with_variants("half-traffic", &[0.25, 0.75], 0.5);
    let mut counts = [0_u64; 2];
    let mut excluded = 0_u64;
    for index in 0..UNITS {
        match experiment.assign(&unit(index)) {
            Some(variant) => counts[variant] += 1,
            None => excluded += 1,
        }
    }
    let included = counts[0] + counts[1];
    let inclusion = chi_square(&[included, excluded], &[UNITS as f64 / 2.0; 2]);
    assert!(
        inclusion < CHI2_999_DF1,
        "χ² = {inclusion}, included {included}"
    );
    let split = chi_square(&counts, &[0.25 * included as f64, 0.75 * included as f64]);
    assert!(split < CHI2_999_DF1, "χ² = {split}, counts {counts:?}");
}

fn weights_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.01_f64..100.0, 2..6)
}

proptest! {
    #[test]
    fn the_same_salt_and_unit_always_get_the_same_bucket(salt in "\\PC{1,40}", id in "\\PC{1,64}") {
        let first = hash_v2(&salt, &id);
        prop_assert_eq!(first, hash_v2(&salt, &id));
        prop_assert!((0.0..1.0).contains(&first));
        // Four decimals: a whole number of ten-thousandths.
        let scaled = first * 10_000.0;
        prop_assert!((scaled - scaled.round()).abs() < 1e-6);
    }

    #[test]
    fn an_experiment_assigns_a_unit_the_same_variant_every_time(
        weights in weights_strategy(),
        traffic in 0.0_f64..=1.0,
        id in "\\PC{1,64}",
    ) {
        let experiment = with_variants("stable", &weights, traffic);
        let again = with_variants("stable", &weights, traffic);
        prop_assert_eq!(experiment.assign(&id), experiment.assign(&id));
        prop_assert_eq!(experiment.assign(&id), again.assign(&id));
    }

    #[test]
    fn raising_traffic_never_moves_an_included_unit(
        weights in weights_strategy(),
        low in 0.0_f64..=1.0,
        raise in 0.0_f64..=1.0,
        salt in "[a-z0-9-]{1,20}",
        id in "\\PC{1,64}",
    ) {
        let high = (low + (1.0 - low) * raise).min(1.0);
        let before = with_variants(&salt, &weights, low);
        let after = with_variants(&salt, &weights, high);
        if let Some(variant) = before.assign(&id) {
            prop_assert_eq!(after.assign(&id), Some(variant));
        }
    }

    #[test]
    fn bucket_ranges_only_extend_when_coverage_grows(
        count in 1_usize..8,
        low in 0.0_f64..=1.0,
        raise in 0.0_f64..=1.0,
        bucket in 0_u32..10_000,
    ) {
        let high = (low + (1.0 - low) * raise).min(1.0);
        let small = bucket_ranges(count, low, &[]);
        let large = bucket_ranges(count, high, &[]);
        let bucket = f64::from(bucket) / 10_000.0;
        if let Some(variant) = choose_variant(bucket, &small) {
            prop_assert_eq!(choose_variant(bucket, &large), Some(variant));
        }
    }

    #[test]
    fn full_traffic_assigns_every_unit_and_zero_traffic_none(
        weights in weights_strategy(),
        id in "\\PC{1,64}",
    ) {
        let full = with_variants("full", &weights, 1.0);
        let variant = full.assign(&id);
        prop_assert!(variant.is_some_and(|index| index < weights.len()));
        prop_assert_eq!(with_variants("full", &weights, 0.0).assign(&id), None);
    }
}
