//! Failure counters per plugin, hook and reason (plain atomics the server exports as a
//! `_total` metric) and the fuel each call used, per plugin and hook (a log-bucketed histogram
//! for p50/p99). They belong to the plugin's name, so they survive hot swaps.

use std::sync::atomic::{AtomicU64, Ordering};
use touchstone_plugin_sdk::abi::Hook;

/// Every reason a call can fail with ([`PluginError::reason`](crate::PluginError::reason)).
const REASONS: [&str; 14] = [
    "not_loaded",
    "hook_missing",
    "input_too_large",
    "out_of_fuel",
    "deadline",
    "memory_limit",
    "stack_overflow",
    "trap",
    "busy",
    "output_too_large",
    "output_out_of_bounds",
    "malformed_output",
    "guest_error",
    "bad_alloc",
];

/// One non-zero counter in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    pub plugin: String,
    pub hook: Hook,
    pub reason: &'static str,
    pub count: u64,
}

/// Fuel used by one plugin's calls of one hook, from the histogram: upper bounds of the
/// buckets the quantiles fall in (at most 1/8 above the true value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FuelStats {
    pub plugin: String,
    pub hook: Hook,
    /// Calls measured (every call when the host meters fuel).
    pub calls: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Default)]
pub(crate) struct PluginCounters {
    failures: [[AtomicU64; REASONS.len()]; 3],
    fuel: [FuelHistogram; 3],
    /// Instances created for calls (not the trial at load): with calls, how many a request
    /// costs.
    instances: AtomicU64,
}

/// Sub-buckets per power of two: 8 keeps a quantile within 12.5 % of the truth.
const SUB_BUCKETS: usize = 8;
const BUCKETS: usize = 64 * SUB_BUCKETS;

/// A lock-free histogram of fuel per call, log-linear buckets.
#[derive(Debug)]
struct FuelHistogram {
    buckets: Box<[AtomicU64; BUCKETS]>,
    max: AtomicU64,
}

impl Default for FuelHistogram {
    fn default() -> Self {
        Self {
            buckets: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            max: AtomicU64::new(0),
        }
    }
}

fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros() as usize; // >= 3
    let mantissa = ((value >> (exponent - 3)) as usize) & (SUB_BUCKETS - 1);
    (exponent - 2) * SUB_BUCKETS + mantissa
}

/// The largest value that falls in `bucket`.
fn bucket_upper(bucket: usize) -> u64 {
    if bucket < SUB_BUCKETS {
        return bucket as u64;
    }
    let exponent = bucket / SUB_BUCKETS + 2;
    let mantissa = (bucket % SUB_BUCKETS) as u64;
    let low = (SUB_BUCKETS as u64 + mantissa) << (exponent - 3);
    low.saturating_add((1u64 << (exponent - 3)) - 1)
}

impl FuelHistogram {
    fn record(&self, fuel: u64) {
        self.buckets[bucket_of(fuel)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(fuel, Ordering::Relaxed);
    }

    fn stats(&self, plugin: &str, hook: Hook) -> Option<FuelStats> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|bucket| bucket.load(Ordering::Relaxed))
            .collect();
        let calls: u64 = counts.iter().sum();
        if calls == 0 {
            return None;
        }
        let max = self.max.load(Ordering::Relaxed);
        let quantile = |q: f64| {
            let rank = ((calls as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (bucket, count) in counts.iter().enumerate() {
                seen += count;
                if seen >= rank {
                    return bucket_upper(bucket).min(max);
                }
            }
            max
        };
        Some(FuelStats {
            plugin: plugin.to_owned(),
            hook,
            calls,
            p50: quantile(0.5),
            p99: quantile(0.99),
            max,
        })
    }
}

impl PluginCounters {
    pub(crate) fn record_instance(&self) {
        self.instances.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn instances(&self) -> u64 {
        self.instances.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, hook: Hook, reason: &'static str) {
        // "refused" never happens on a call; anything unknown is counted as a trap.
        let index = REASONS.iter().position(|r| *r == reason).unwrap_or(7);
        self.failures[hook_index(hook)][index].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_fuel(&self, hook: Hook, fuel: u64) {
        self.fuel[hook_index(hook)].record(fuel);
    }

    pub(crate) fn fuel_stats(&self, plugin: &str, into: &mut Vec<FuelStats>) {
        for hook in Hook::ALL {
            into.extend(self.fuel[hook_index(hook)].stats(plugin, hook));
        }
    }

    pub(crate) fn snapshot(&self, plugin: &str, into: &mut Vec<FailureCount>) {
        for hook in Hook::ALL {
            for (index, reason) in REASONS.iter().enumerate() {
                let count = self.failures[hook_index(hook)][index].load(Ordering::Relaxed);
                if count > 0 {
                    into.push(FailureCount {
                        plugin: plugin.to_owned(),
                        hook,
                        reason,
                        count,
                    });
                }
            }
        }
    }
}

fn hook_index(hook: Hook) -> usize {
    match hook {
        Hook::Eligible => 0,
        Hook::Payload => 1,
        Hook::Event => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_quantiles_are_within_an_eighth_of_the_truth() {
        let counters = PluginCounters::default();
        for fuel in 1..=1000u64 {
            counters.record_fuel(Hook::Payload, fuel * 1000);
        }
        let mut stats = Vec::new();
        counters.fuel_stats("p", &mut stats);
        let [payload] = stats.as_slice() else {
            panic!("one hook measured: {stats:?}")
        };
        assert_eq!(payload.calls, 1000);
        assert_eq!(payload.max, 1_000_000);
        assert!((500_000..=562_500).contains(&payload.p50), "{payload:?}");
        assert!((990_000..=1_000_000).contains(&payload.p99), "{payload:?}");
    }

    #[test]
    fn every_bucket_holds_the_values_that_map_to_it() {
        for value in [0, 1, 7, 8, 9, 15, 16, 17, 1000, 123_456_789, u64::MAX] {
            let bucket = bucket_of(value);
            assert!(bucket_upper(bucket) >= value, "{value}");
            if bucket > 0 {
                assert!(bucket_upper(bucket - 1) < value, "{value}");
            }
        }
    }

    #[test]
    fn every_call_failure_reason_has_its_own_counter() {
        let counters = PluginCounters::default();
        counters.record(Hook::Event, "deadline");
        counters.record(Hook::Event, "deadline");
        counters.record(Hook::Eligible, "guest_error");
        let mut snapshot = Vec::new();
        counters.snapshot("p", &mut snapshot);
        assert_eq!(snapshot.len(), 2);
        assert!(snapshot.contains(&FailureCount {
            plugin: "p".into(),
            hook: Hook::Event,
            reason: "deadline",
            count: 2
        }));
    }
}
