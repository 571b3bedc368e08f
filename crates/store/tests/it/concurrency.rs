//! Many tasks recording the same units and the same event ids at once end with exact counts.

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::Experiment;
use touchstone_store::{MemoryStore, Store};
use touchstone_testkit::redis::RedisServer;

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
