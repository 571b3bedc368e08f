//! Deterministic assignment, compatible with GrowthBook's public hashing scheme so that any
//! client implementing it (their SDKs, a warehouse query) reproduces Touchstone's split.
//!
//! * FNV-1a 32-bit over UTF-16 code units — what the JS SDK's `charCodeAt` loop hashes, so
//!   non-ASCII ids hash the same in a browser.
//! * v2 hash (assignment): `fnv1a32(decimal(fnv1a32(seed + unit_id))) % 10000 / 10000`.
//! * v1 hash (namespaces / layers): `fnv1a32(unit_id + seed) % 1000 / 1000`.
//! * Bucket ranges as `getBucketRanges`: variant i owns `[start_i, start_i + traffic × w_i)`
//!   with `start_i` the cumulative weight before it, so raising traffic never moves an
//!   included unit to another variant.

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a (32 bit) over the UTF-16 code units of `text`.
pub fn fnv1a32(text: &str) -> u32 {
    text.encode_utf16().fold(FNV_OFFSET_BASIS, |hash, unit| {
        (hash ^ u32::from(unit)).wrapping_mul(FNV_PRIME)
    })
}

fn fnv1a32_concat(first: &str, second: &str) -> u32 {
    first
        .encode_utf16()
        .chain(second.encode_utf16())
        .fold(FNV_OFFSET_BASIS, |hash, unit| {
            (hash ^ u32::from(unit)).wrapping_mul(FNV_PRIME)
        })
}

/// GrowthBook's v2 hash: a bucket in [0, 1) with 4 decimal places.
pub fn hash_v2(seed: &str, unit_id: &str) -> f64 {
    let inner = fnv1a32_concat(seed, unit_id);
    let outer = fnv1a32(&inner.to_string());
    f64::from(outer % 10_000) / 10_000.0
}

/// GrowthBook's v1 hash: a bucket in [0, 1) with 3 decimal places (used for namespaces).
pub fn hash_v1(seed: &str, unit_id: &str) -> f64 {
    f64::from(fnv1a32_concat(unit_id, seed) % 1_000) / 1_000.0
}

/// GrowthBook's `hash(seed, value, version)`: `None` for a version other than 1 or 2, as their
/// SDKs return `null`, so a caller can refuse a definition it cannot reproduce.
pub fn hash(seed: &str, unit_id: &str, version: u32) -> Option<f64> {
    match version {
        1 => Some(hash_v1(seed, unit_id)),
        2 => Some(hash_v2(seed, unit_id)),
        _ => None,
    }
}

/// The half-open range `[start, end)` of the hash space a variant owns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketRange {
    pub start: f64,
    pub end: f64,
}

impl BucketRange {
    pub fn contains(&self, bucket: f64) -> bool {
        bucket >= self.start && bucket < self.end
    }
}

/// GrowthBook's `getBucketRanges`: equal weights when the weights do not fit the variant count
/// or do not sum to 1 (±0.01); coverage clamped to [0, 1]. No rounding, same float operations
/// in the same order as their JS, so the ranges are bit-identical (checked by
/// `tests/vectors/growthbook.json`).
#[allow(
    clippy::manual_range_contains,
    reason = "two comparisons keep JavaScript's NaN semantics"
)]
pub fn bucket_ranges(variant_count: usize, coverage: f64, weights: &[f64]) -> Vec<BucketRange> {
    let coverage = if coverage.is_nan() {
        0.0
    } else {
        coverage.clamp(0.0, 1.0)
    };
    let equal = || vec![1.0 / variant_count as f64; variant_count];
    let weights: Vec<f64> = if weights.len() != variant_count {
        equal()
    } else {
        // Left to right from 0, as their `reduce`; written as their two comparisons so a NaN
        // total behaves as in JS (kept, never matching a bucket) rather than silently equal.
        let total = weights.iter().fold(0.0, |sum, weight| sum + weight);
        if total < 0.99 || total > 1.01 {
            equal()
        } else {
            weights.to_vec()
        }
    };
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|weight| {
            let start = cumulative;
            cumulative += weight;
            BucketRange {
                start,
                end: start + coverage * weight,
            }
        })
        .collect()
}

/// GrowthBook's `chooseVariation`: the index of the range holding `bucket`, if any.
pub fn choose_variant(bucket: f64, ranges: &[BucketRange]) -> Option<usize> {
    ranges.iter().position(|range| range.contains(bucket))
}

/// GrowthBook's `inNamespace`: whether the unit's layer hash falls in `[start, end)`.
pub fn in_layer(layer: &str, unit_id: &str, start: f64, end: f64) -> bool {
    let bucket = hash_v1(&format!("__{layer}"), unit_id);
    bucket >= start && bucket < end
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values: FNV-1a 32 test vectors (Fowler/Noll/Vo, isthe.com/chongo/tech/comp/fnv).
    #[test]
    fn fnv1a32_matches_published_vectors() {
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn traffic_growth_never_moves_an_included_unit() {
        let small = bucket_ranges(2, 0.2, &[0.5, 0.5]);
        let large = bucket_ranges(2, 0.9, &[0.5, 0.5]);
        for step in 0..10_000 {
            let bucket = f64::from(step) / 10_000.0;
            if let Some(variant) = choose_variant(bucket, &small) {
                assert_eq!(choose_variant(bucket, &large), Some(variant));
            }
        }
    }
}
