//! Pauses of the embedded store as it fills: two threads (as two actix workers) record first
//! exposures of new units into one experiment of a `MemoryStore` until 1.1 × 10⁶ units are held,
//! and the latency of every call is kept; printed per 100 000 units: p50, p99, p99.9 and max.
//! A pause that grows with the units held (a whole-map rehash under the experiment's lock)
//! shows as a max and p99.9 that grow step by step.
//! Run: `cargo run --release -p touchstone-store --example memory_stalls`.

// The table on stdout is what this example is for.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use touchstone_model::{Experiment, ExperimentSpec, Timestamp};
use touchstone_store::{Exposure, MemoryStore, Store};

const UNITS: u64 = 1_100_000;
const STEP: u64 = 100_000;
const THREADS: usize = 2;

fn experiment() -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
        "key": "stalls", "touchpoint": "checkout", "status": "running",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["view_item", "add_to_cart", "purchase"],
        "value_event": "purchase",
        "segments": ["device"],
    }))
    .expect("spec");
    Experiment::new(spec).expect("valid")
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

fn main() {
    let store = Arc::new(MemoryStore::new());
    let experiment = Arc::new(experiment());
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (store, experiment, next) = (store.clone(), experiment.clone(), next.clone());
            std::thread::spawn(move || {
                // (unit number, latency in µs) of every call this thread made.
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= UNITS {
                        return latencies;
                    }
                    let exposure = Exposure {
                        unit_id: format!("visitor-{n}"),
                        variant: (n % 2) as usize,
                        at: Timestamp::from_millis(1_795_428_000_000 + n as i64),
                        segments: BTreeMap::from([("device".to_owned(), "mobile".to_owned())]),
                        plugin_version: None,
                        covariates: BTreeMap::new(),
                    };
                    let started = Instant::now();
                    let recorded =
                        futures::executor::block_on(store.record_exposure(&experiment, &exposure));
                    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                    assert!(recorded.expect("the memory store does not fail").new);
                    latencies.push((n, micros));
                }
            })
        })
        .collect();
    let mut steps: Vec<Vec<u32>> = vec![Vec::new(); UNITS.div_ceil(STEP) as usize];
    for worker in workers {
        for (n, micros) in worker.join().expect("a worker thread") {
            steps[(n / STEP) as usize].push(micros);
        }
    }
    println!("units held      p50 ms   p99 ms  p99.9 ms   max ms");
    for (index, mut step) in steps.into_iter().enumerate() {
        step.sort_unstable();
        let from = index as u64 * STEP;
        println!(
            "{:>7}-{:<7} {:>7.3} {:>8.3} {:>9.3} {:>8.3}",
            from,
            from + STEP,
            percentile(&step, 0.50),
            percentile(&step, 0.99),
            percentile(&step, 0.999),
            percentile(&step, 1.0),
        );
    }
}
