//! Throughput of `RedisStore` against a local testkit `redis-server`: exposures/s and events/s
//! (batches of 100), with `redis-benchmark -t incr -P 100` on the same kind of server printed
//! beside them for the ratio. Run: `cargo bench -p touchstone-store --bench store`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use touchstone_model::{Experiment, ExperimentSpec, OutcomeEvent, Timestamp};
use touchstone_store::{Exposure, RedisStore, Store};
use touchstone_testkit::redis::RedisServer;

const T0: i64 = 1_795_428_000_000;
/// Requests in flight at once, as a busy server would have.
const CONCURRENCY: u64 = 16;
const UNITS: u64 = 10_000;

fn experiment() -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "bench", "touchpoint": "checkout", "status": "running",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["add_to_cart", "begin_checkout", "purchase"],
        "value_event": "purchase",
    }))
    .expect("spec");
    Experiment::new(spec).expect("valid")
}

fn exposure(unit: u64) -> Exposure {
    Exposure {
        unit_id: format!("unit-{unit}"),
        variant: (unit % 2) as usize,
        at: Timestamp::from_millis(T0),
        segments: Default::default(),
        plugin_version: None,
        covariates: Default::default(),
    }
}

fn redis_benchmark(port: u16) {
    let output = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            "incr",
            "-P",
            "100",
            "-q",
            "-n",
            "1000000",
        ])
        .output();
    match output {
        Ok(output) => eprintln!(
            "redis-benchmark -t incr -P 100 -q -n 1000000: {}",
            // Progress lines end in `\r`; the summary is the last of them.
            String::from_utf8_lossy(&output.stdout)
                .rsplit('\r')
                .next()
                .unwrap_or_default()
                .trim()
        ),
        Err(error) => eprintln!("redis-benchmark could not run: {error}"),
    }
}

fn bench(c: &mut Criterion) {
    let server = RedisServer::start();
    redis_benchmark(server.port());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = Arc::new(
        runtime
            .block_on(RedisStore::connect(&server.url()))
            .expect("store"),
    );
    let experiment = Arc::new(experiment());
    let next = AtomicU64::new(0);

    let mut group = c.benchmark_group("redis_store");
    group.throughput(Throughput::Elements(CONCURRENCY));
    group.bench_function("record_exposure", |b| {
        b.iter(|| {
            runtime.block_on(join_all((0..CONCURRENCY).map(|_| {
                let unit = next.fetch_add(1, Ordering::Relaxed);
                let (store, experiment) = (store.clone(), experiment.clone());
                async move {
                    store
                        .record_exposure(&experiment, &exposure(unit))
                        .await
                        .expect("recorded")
                }
            })))
        })
    });

    runtime.block_on(join_all((0..UNITS).map(|unit| {
        let (store, experiment) = (store.clone(), experiment.clone());
        async move { store.record_exposure(&experiment, &exposure(unit)).await }
    })));
    let names = ["add_to_cart", "begin_checkout", "purchase", "page_view"];
    let event_id = AtomicU64::new(0);
    group.throughput(Throughput::Elements(100 * CONCURRENCY));
    group.bench_function("record_events_batch_of_100", |b| {
        b.iter(|| {
            runtime.block_on(join_all((0..CONCURRENCY).map(|_| {
                let batch: Vec<OutcomeEvent> = (0..100)
                    .map(|_| {
                        let id = event_id.fetch_add(1, Ordering::Relaxed);
                        let name = names[(id % 4) as usize];
                        OutcomeEvent {
                            id: format!("ev-{id}"),
                            unit_id: format!("unit-{}", id % UNITS),
                            name: name.into(),
                            value: (name == "purchase").then_some(25.0),
                            timestamp: Timestamp::from_millis(T0 + 60_000),
                        }
                    })
                    .collect();
                let (store, experiment) = (store.clone(), experiment.clone());
                async move {
                    store
                        .record_events(&[experiment], &batch)
                        .await
                        .expect("recorded")
                }
            })))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
