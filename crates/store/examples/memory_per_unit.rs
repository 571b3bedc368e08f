//! Measures the Redis memory per million exposed units (INFO memory `used_memory` before and
//! after), for exposure only and for units that then send a short journey of events.
//! Run: `cargo run --release -p touchstone-store --example memory_per_unit`.

use futures::future::join_all;
use serde_json::json;
use std::sync::Arc;
use touchstone_model::{Experiment, ExperimentSpec, OutcomeEvent, Timestamp};
use touchstone_store::{Exposure, RedisStore, Store};
use touchstone_testkit::redis::RedisServer;

const UNITS: u64 = 200_000;
const T0: i64 = 1_795_428_000_000;

fn used_memory(server: &RedisServer) -> f64 {
    server
        .cli(&["INFO", "memory"])
        .lines()
        .find_map(|line| line.trim().strip_prefix("used_memory:"))
        .and_then(|value| value.parse().ok())
        .unwrap_or(f64::NAN)
}

fn experiment(key: &str) -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": key, "touchpoint": "checkout", "status": "running",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["add_to_cart", "begin_checkout", "purchase"],
        "value_event": "purchase",
        "segments": ["device", "country"],
    }))
    .expect("spec");
    Experiment::new(spec).expect("valid")
}

#[tokio::main]
async fn main() {
    let server = RedisServer::start();
    let store = Arc::new(RedisStore::connect(&server.url()).await.expect("store"));
    let experiment = Arc::new(experiment("memory"));
    let before = used_memory(&server);
    for chunk in (0..UNITS).collect::<Vec<_>>().chunks(1_000) {
        join_all(chunk.iter().map(|&unit| {
            let (store, experiment) = (store.clone(), experiment.clone());
            async move {
                let exposure = Exposure {
                    unit_id: format!("u{unit:09}"),
                    variant: (unit % 2) as usize,
                    at: Timestamp::from_millis(T0),
                    segments: [("device", "mobile"), ("country", "DE")]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                    plugin_version: None,
                };
                store
                    .record_exposure(&experiment, &exposure)
                    .await
                    .expect("exposed")
            }
        }))
        .await;
    }
    let exposed = used_memory(&server);
    // A journey per unit: add_to_cart and a purchase with a value (2 events, unique ids).
    for chunk in (0..UNITS).collect::<Vec<_>>().chunks(50) {
        let events: Vec<OutcomeEvent> = chunk
            .iter()
            .flat_map(|&unit| {
                [("add_to_cart", None), ("purchase", Some(30.0))].map(|(name, value)| {
                    OutcomeEvent {
                        id: format!("{name}-{unit}"),
                        unit_id: format!("u{unit:09}"),
                        name: name.into(),
                        value,
                        timestamp: Timestamp::from_millis(T0 + 60_000),
                    }
                })
            })
            .collect();
        store
            .record_events(std::slice::from_ref(&experiment), &events)
            .await
            .expect("recorded");
    }
    let journeyed = used_memory(&server);
    let per_million = |bytes: f64| bytes / UNITS as f64 * 1e6 / (1024.0 * 1024.0);
    eprintln!("units: {UNITS} (2 segment attributes each)");
    eprintln!(
        "exposure only: {:.0} bytes/unit = {:.1} MiB per million exposed units",
        (exposed - before) / UNITS as f64,
        per_million(exposed - before)
    );
    eprintln!(
        "plus 2 events/unit (stage flags, revenue state, seen-id keys): {:.0} bytes/unit = {:.1} MiB per million",
        (journeyed - before) / UNITS as f64,
        per_million(journeyed - before)
    );
}
