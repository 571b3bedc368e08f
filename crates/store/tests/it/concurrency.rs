//! Many tasks recording the same units and the same event ids at once end with exact counts.

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::Experiment;
use touchstone_store::{MemoryStore, Store};
use touchstone_testkit::redis::{RedisCluster, RedisServer};

const TASKS: usize = 16;
const UNITS: usize = 40;

async fn hammer(store: Arc<dyn Store>) {
    let exp = Arc::new(experiment("concurrent"));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        let exp: Arc<Experiment> = exp.clone();
        tasks.push(tokio::spawn(async move {
            for unit in 0..UNITS {
                let unit_id = format!("u{unit}");
                expose(&*store, &exp, &unit_id, unit % 2, T0).await;
                // Every task sends the same ids: each must count exactly once.
                let events = [
                    event(
                        &format!("{}:a{unit}", exp.key()),
                        &unit_id,
                        "add_to_cart",
                        None,
                        T0 + HOUR,
                    ),
                    event(
                        &format!("{}:p{unit}", exp.key()),
                        &unit_id,
                        "purchase",
                        Some(2.5),
                        T0 + HOUR,
                    ),
                    event(
                        &format!("{}:q{unit}", exp.key()),
                        &unit_id,
                        "purchase",
                        Some(1.5),
                        T0 + 2 * HOUR,
                    ),
                ];
                store
                    .record_events(std::slice::from_ref(&exp), &events)
                    .await
                    .expect("recorded");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let agg = aggregates(&*store, &exp).await;
    for variant in 0..2 {
        let units = (UNITS / 2) as u64;
        assert_eq!(agg.variants[variant].units, units);
        assert_eq!(stage(&agg, variant, "add_to_cart").reached, units);
        assert_eq!(stage(&agg, variant, "purchase").reached, units);
        // Each unit: revenue 2.5 + 1.5 = 4 (square 16), two purchases (square 4).
        let n = units as f64;
        assert_eq!(
            metric(&agg, variant, "revenue_per_unit"),
            moments(units, 4.0 * n, 16.0 * n)
        );
        assert_eq!(
            metric(&agg, variant, "purchases"),
            moments(units, 2.0 * n, 4.0 * n)
        );
        assert_eq!(
            metric(&agg, variant, "repeat_purchase"),
            moments(units, n, n)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_on_the_same_units_and_ids_count_exactly_in_memory() {
    hammer(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_on_the_same_units_and_ids_count_exactly_in_redis() {
    let store = touchstone_store::open(&RedisServer::shared().url())
        .await
        .expect("open");
    hammer(store).await;
}

/// Successful `EVALSHA` calls the servers have run (a `NOSCRIPT` answer is a failed call).
fn script_calls(nodes: &[RedisServer]) -> u64 {
    nodes.iter().map(node_script_calls).sum()
}

fn node_script_calls(redis: &RedisServer) -> u64 {
    let stats = redis.cli(&["info", "commandstats"]);
    let line = stats
        .lines()
        .find(|line| line.starts_with("cmdstat_evalsha:"))
        .unwrap_or("cmdstat_evalsha:calls=0,failed_calls=0");
    let field = |name: &str| -> u64 {
        line.split([':', ','])
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .map_or(0, |value| value.parse().expect("a count"))
    };
    field("calls") - field("failed_calls")
}

/// The exposures a thread's requests make in one turn go out as one script call per
/// experiment, and each still gets its own answer: a unit repeated in the batch finds its
/// earlier exposure (first exposure wins), and the counters move once per unit.
async fn batched_exposures(url: &str, nodes: &[RedisServer]) {
    let store = touchstone_store::open(url).await.expect("open");
    let (first, second) = (experiment("batched"), experiment("batched-too"));
    let mut exposures: Vec<(&Experiment, String, usize)> = (0..40)
        .map(|unit| (&first, format!("u{unit}"), unit % 2))
        .chain((0..10).map(|unit| (&second, format!("u{unit}"), unit % 2)))
        .collect();
    // The same unit again, asking for the other variant: it keeps the first.
    exposures.push((&first, "u1".to_owned(), 0));
    let before = script_calls(nodes);
    let records = futures::future::join_all(
        exposures
            .iter()
            .map(|(exp, unit, variant)| expose(&*store, exp, unit, *variant, T0)),
    )
    .await;
    assert_eq!(script_calls(nodes) - before, 2, "one call per experiment");

    for ((_, unit, variant), record) in exposures.iter().zip(&records).take(50) {
        assert!(record.new, "{unit} is new");
        assert_eq!(record.variant, *variant, "{unit}");
        assert_eq!(record.exposed_at.as_millis(), T0);
    }
    let repeated = &records[50];
    assert!(!repeated.new);
    assert_eq!(repeated.variant, 1, "the first exposure of u1 wins");
    let (first_agg, second_agg) = (
        aggregates(&*store, &first).await,
        aggregates(&*store, &second).await,
    );
    assert_eq!(first_agg.variants[0].units, 20);
    assert_eq!(first_agg.variants[1].units, 20);
    assert_eq!(second_agg.variants[0].units, 5);
    assert_eq!(second_agg.variants[1].units, 5);
}

#[tokio::test]
async fn concurrent_first_exposures_of_a_thread_go_out_in_one_call_per_experiment() {
    let redis = RedisServer::start();
    batched_exposures(&redis.url(), std::slice::from_ref(&redis)).await;
}

#[tokio::test]
async fn concurrent_first_exposures_batch_on_a_cluster_too() {
    let cluster = RedisCluster::start();
    batched_exposures(&cluster.url(), cluster.nodes()).await;
}
