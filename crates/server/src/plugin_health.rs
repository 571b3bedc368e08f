//! Plugin health counted on the request path without a store round trip: each plugin call
//! adds one to its experiment and variant in a sharded in-process tally (a short, uncontended
//! lock beside a plugin call of 7 µs and more, decision 011), and a background task moves the
//! tally into the store about once a second (`Store::add_plugin_health`, one atomic step per
//! experiment). The guardrail checker reads the store, so every server's calls count.

use crate::catalog::CatalogHandle;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use touchstone_model::PluginCalls;
use touchstone_store::Store;

/// Independent locks, so request threads calling plugins for different experiments rarely
/// meet on one.
const SHARDS: usize = 16;

/// Experiment key → calls per variant index, not yet in the store.
type Counts = HashMap<String, Vec<PluginCalls>>;

#[derive(Debug)]
pub struct PluginHealthTally {
    hasher: RandomState,
    shards: [Mutex<Counts>; SHARDS],
}

impl Default for PluginHealthTally {
    fn default() -> Self {
        PluginHealthTally {
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(Counts::new())),
        }
    }
}

impl PluginHealthTally {
    /// One plugin call made for `variant` of `experiment`; `fell_back` when the plugin failed
    /// (trap, fuel, deadline, bad output) and the safe default stood in.
    pub fn record(&self, experiment: &str, variant: usize, fell_back: bool) {
        let shard = self.hasher.hash_one(experiment) as usize % SHARDS;
        let mut counts = self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Looked up by `&str` first: the key is allocated once per experiment and flush.
        if !counts.contains_key(experiment) {
            counts.insert(experiment.to_owned(), Vec::new());
        }
        let Some(variants) = counts.get_mut(experiment) else {
            return;
        };
        if variants.len() <= variant {
            variants.resize(variant + 1, PluginCalls::default());
        }
        variants[variant].add(PluginCalls {
            calls: 1,
            fallbacks: u64::from(fell_back),
        });
    }

    /// Everything counted since the last drain, leaving the tally empty.
    pub fn drain(&self) -> Counts {
        let mut drained = Counts::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(PoisonError::into_inner));
            drained.extend(taken);
        }
        drained
    }
}

/// Where a flush moves the tally: the parts of the application state it needs (not the state
/// itself, which holds the tally — that would make the two modules import each other).
#[derive(Clone)]
pub struct Flush {
    pub tally: Arc<PluginHealthTally>,
    pub catalog: Arc<CatalogHandle>,
    pub store: Arc<dyn Store>,
}

/// Runs for the server's life: a flush every `every`.
pub async fn keep_flushing(target: Flush, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        flush(&target).await;
    }
}

/// Moves the tally into the store. A failed write loses that second's counts (logged and
/// counted) rather than risk adding them twice when the failure hid a success: both arms
/// lose alike, so the comparison stays fair.
pub async fn flush(target: &Flush) {
    let drained = target.tally.drain();
    if drained.is_empty() {
        return;
    }
    let catalog = target.catalog.load();
    for (key, calls) in drained {
        // A definition deleted meanwhile has nowhere to count.
        let Some(experiment) = catalog.get(&key) else {
            continue;
        };
        if let Err(error) = target.store.add_plugin_health(experiment, &calls).await {
            crate::observe::store_failure("add_plugin_health", &error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_add_up_per_experiment_and_variant_and_a_drain_empties_the_tally() {
        let tally = PluginHealthTally::default();
        tally.record("a", 1, true);
        tally.record("a", 1, false);
        tally.record("a", 0, false);
        tally.record("b", 2, true);
        let drained = tally.drain();
        let calls = |calls, fallbacks| PluginCalls { calls, fallbacks };
        assert_eq!(drained["a"], vec![calls(1, 0), calls(2, 1)]);
        assert_eq!(drained["b"], vec![calls(0, 0), calls(0, 0), calls(1, 1)]);
        assert!(tally.drain().is_empty());
    }

    #[test]
    fn threads_recording_at_once_lose_no_call() {
        let tally = std::sync::Arc::new(PluginHealthTally::default());
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let tally = std::sync::Arc::clone(&tally);
                std::thread::spawn(move || {
                    for call in 0..1_000 {
                        tally.record(&format!("e{}", call % 3), thread % 2, call % 10 == 0);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        let drained = tally.drain();
        let total: u64 = drained.values().flatten().map(|c| c.calls).sum();
        let fallbacks: u64 = drained.values().flatten().map(|c| c.fallbacks).sum();
        assert_eq!((total, fallbacks), (4_000, 400));
    }
}
