//! Replays GrowthBook's public SDK test cases (`tests/vectors/growthbook.json`, source and
//! comparison rules in `tests/vectors/README.md`) against `touchstone_model::assignment`.

use serde::Deserialize;
use touchstone_model::assignment::{self, BucketRange};

const VECTORS: &str = include_str!("../vectors/growthbook.json");

#[derive(Deserialize)]
struct Vectors {
    hash: Vec<HashCase>,
    hash_non_ascii: NonAscii,
    #[serde(rename = "getBucketRange")]
    bucket_range: Vec<BucketRangeCase>,
    #[serde(rename = "chooseVariation")]
    choose_variation: Vec<ChooseCase>,
    #[serde(rename = "inNamespace")]
    in_namespace: Vec<NamespaceCase>,
}

#[derive(Deserialize)]
struct NonAscii {
    cases: Vec<HashCase>,
}

#[derive(Deserialize)]
struct HashCase {
    seed: String,
    value: String,
    version: u32,
    expected: Option<f64>,
}

#[derive(Deserialize)]
struct BucketRangeCase {
    name: String,
    variations: usize,
    coverage: f64,
    weights: Option<Vec<f64>>,
    expected: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct ChooseCase {
    name: String,
    hash: f64,
    ranges: Vec<[f64; 2]>,
    expected: i64,
}

#[derive(Deserialize)]
struct NamespaceCase {
    name: String,
    id: String,
    namespace: (String, f64, f64),
    expected: bool,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("growthbook.json parses")
}

/// GrowthBook's json.test.ts compares ranges after `Math.floor(n * 1e8) / 1e8`.
fn floor8(value: f64) -> f64 {
    (value * 1e8).floor() / 1e8
}

fn check_hash(case: &HashCase) {
    let actual = assignment::hash(&case.seed, &case.value, case.version);
    assert_eq!(
        actual, case.expected,
        "hash({:?}, {:?}, {})",
        case.seed, case.value, case.version
    );
    match case.version {
        1 => assert_eq!(
            Some(assignment::hash_v1(&case.seed, &case.value)),
            case.expected
        ),
        2 => assert_eq!(
            Some(assignment::hash_v2(&case.seed, &case.value)),
            case.expected
        ),
        _ => {}
    }
}

#[test]
fn every_growthbook_hash_case_matches_exactly() {
    let cases = vectors().hash;
    assert_eq!(cases.len(), 15, "the file lost cases");
    cases.iter().for_each(check_hash);
}

#[test]
fn non_ascii_ids_hash_as_utf16_code_units_like_javascript() {
    let cases = vectors().hash_non_ascii.cases;
    assert_eq!(cases.len(), 10);
    cases.iter().for_each(check_hash);
}

#[test]
fn every_growthbook_bucket_range_case_matches() {
    let cases = vectors().bucket_range;
    assert_eq!(cases.len(), 13);
    for case in cases {
        let weights = case.weights.unwrap_or_default();
        let actual = assignment::bucket_ranges(case.variations, case.coverage, &weights);
        let actual: Vec<[f64; 2]> = actual
            .iter()
            .map(|range| [floor8(range.start), floor8(range.end)])
            .collect();
        let expected: Vec<[f64; 2]> = case
            .expected
            .iter()
            .map(|[start, end]| [floor8(*start), floor8(*end)])
            .collect();
        assert_eq!(actual, expected, "{}", case.name);
    }
}

#[test]
fn every_growthbook_choose_variation_case_matches() {
    let cases = vectors().choose_variation;
    assert_eq!(cases.len(), 13);
    for case in cases {
        let ranges: Vec<BucketRange> = case
            .ranges
            .iter()
            .map(|[start, end]| BucketRange {
                start: *start,
                end: *end,
            })
            .collect();
        // GrowthBook returns -1 for "in no range".
        let actual = assignment::choose_variant(case.hash, &ranges)
            .map_or(-1, |index| i64::try_from(index).expect("small index"));
        assert_eq!(actual, case.expected, "{}", case.name);
    }
}

#[test]
fn every_growthbook_namespace_case_matches() {
    let cases = vectors().in_namespace;
    assert_eq!(cases.len(), 16);
    for case in cases {
        let (layer, start, end) = &case.namespace;
        let actual = assignment::in_layer(layer, &case.id, *start, *end);
        assert_eq!(actual, case.expected, "{}", case.name);
    }
}

#[test]
fn hashing_utf8_bytes_instead_would_disagree_with_the_browser() {
    // Guards the choice itself: an FNV over UTF-8 bytes gives another bucket for the same id.
    let utf8 = "😀".bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    assert_ne!(utf8, assignment::fnv1a32("😀"));
    assert_eq!(assignment::hash_v2("seed", "😀"), 0.4346);
}

#[test]
fn a_layer_range_is_half_open_like_in_namespace() {
    // inNamespace keeps `n >= start && n < end`; the GrowthBook cases never hit a boundary.
    for id in ["1", "2", "3", "4", "user-42"] {
        let bucket = assignment::hash_v1("__checkout", id);
        assert!(
            assignment::in_layer("checkout", id, bucket, bucket + 0.001),
            "{id}"
        );
        assert!(!assignment::in_layer("checkout", id, 0.0, bucket), "{id}");
    }
}
