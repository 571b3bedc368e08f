//! Failure counters per plugin, hook and reason: plain atomics the server exports as a
//! `_total` metric. They belong to the plugin's name, so they survive hot swaps.

use std::sync::atomic::{AtomicU64, Ordering};
use touchstone_plugin_sdk::abi::Hook;

/// Every reason a call can fail with ([`PluginError::reason`](crate::PluginError::reason)).
const REASONS: [&str; 13] = [
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
];

/// One non-zero counter in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    pub plugin: String,
    pub hook: Hook,
    pub reason: &'static str,
    pub count: u64,
}

#[derive(Debug, Default)]
pub(crate) struct PluginCounters {
    failures: [[AtomicU64; REASONS.len()]; 3],
}

impl PluginCounters {
    pub(crate) fn record(&self, hook: Hook, reason: &'static str) {
        // "refused" never happens on a call; anything unknown is counted as a trap.
        let index = REASONS.iter().position(|r| *r == reason).unwrap_or(7);
        self.failures[hook_index(hook)][index].fetch_add(1, Ordering::Relaxed);
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
