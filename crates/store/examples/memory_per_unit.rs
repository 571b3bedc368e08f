//! Measures, on a fresh Redis, the memory per million exposed units (INFO memory
//! `used_memory` before and after) and the events/s through `RedisStore`, for two shapes of
//! experiment side by side:
//! - `plain`: a 3-stage journey, no declared metrics (the two built-ins only), no segments;
//! - `kpis`: the same plus 4 metrics (repeat purchase, CLV, support tickets, NPS) and
//!   2 segment attributes (device, country), so every event also moves slice counters;
//! - `cuped`: `kpis` with CUPED covariates (decision 022) on the purchase stage, revenue,
//!   repeat purchase and tickets (`orders_90d`) and CLV (`revenue_90d`), both sent with every
//!   exposure (one unit in ten without `orders_90d`).
//!
//! Each unit is exposed, then sends a journey of 4 events (add_to_cart, purchase with a value,
//! a support ticket, a survey answer) in batches of 50 with 8 batches in flight.
//! Run: `cargo run --release -p touchstone-store --example memory_per_unit`.

use futures::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use touchstone_model::{Experiment, ExperimentSpec, OutcomeEvent, Timestamp};
use touchstone_store::{Exposure, RedisStore, Store};
use touchstone_testkit::redis::RedisServer;

/// Units per shape; `UNITS=20000` in the environment for a quicker, noisier run.
fn units() -> u64 {
    std::env::var("UNITS")
        .ok()
        .and_then(|units| units.parse().ok())
        .unwrap_or(200_000)
}
const T0: i64 = 1_795_428_000_000;
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const COUNTRIES: [&str; 4] = ["DE", "FR", "NL", "AT"];

fn used_memory(server: &RedisServer) -> f64 {
    server
        .cli(&["INFO", "memory"])
        .lines()
        .find_map(|line| line.trim().strip_prefix("used_memory:"))
        .and_then(|value| value.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The shape of experiment measured.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Plain,
    Kpis,
    Cuped,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Plain => "plain",
            Shape::Kpis => "kpis",
            Shape::Cuped => "cuped",
        }
    }
}

fn experiment(key: &str, shape: Shape) -> Experiment {
    let kpis = shape != Shape::Plain;
    let mut spec: Value = json!({
        "key": key, "touchpoint": "checkout", "status": "running",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["add_to_cart", "begin_checkout", "purchase"],
        "value_event": "purchase",
    });
    if kpis {
        spec["segments"] = json!(["device", "country"]);
        spec["metrics"] = json!([
            {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2, "window_end_hours": 720},
            {"key": "clv_90d", "kind": "sum", "event": "purchase", "window_end_hours": 2160},
            {"key": "tickets", "kind": "count", "event": "support_ticket", "direction": "decrease"},
            {"key": "nps", "kind": "nps", "event": "survey"},
        ]);
    }
    if shape == Shape::Cuped {
        let orders = json!({"attribute": "orders_90d"});
        for index in [0, 2] {
            spec["metrics"][index]["covariate"] = orders.clone();
        }
        spec["metrics"][1]["covariate"] = json!({"attribute": "revenue_90d"});
        spec["covariates"] = json!({"purchase": orders, "revenue_per_unit": orders});
    }
    let spec: ExperimentSpec = serde_json::from_value(spec).expect("spec");
    Experiment::new(spec).expect("valid")
}

/// What a `cuped` unit sends at exposure: 90-day revenue, and its orders except for one unit in
/// ten (missing: x = 0).
fn covariates(shape: Shape, unit: u64) -> std::collections::BTreeMap<String, f64> {
    if shape != Shape::Cuped {
        return Default::default();
    }
    let mut sent =
        std::collections::BTreeMap::from([("revenue_90d".to_owned(), (unit % 400) as f64 * 1.25)]);
    if !unit.is_multiple_of(10) {
        sent.insert("orders_90d".to_owned(), (unit % 7) as f64);
    }
    sent
}

struct Figures {
    exposure_bytes: f64,
    total_bytes: f64,
    events_per_second: f64,
    /// Microseconds of Redis CPU per event (its single thread is the ceiling).
    redis_us_per_event: f64,
}

/// CPU seconds (user + system) the Redis process has used.
fn redis_cpu_seconds(server: &RedisServer) -> f64 {
    server
        .cli(&["INFO", "cpu"])
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(':')?;
            matches!(name, "used_cpu_user" | "used_cpu_sys").then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn measure(server: &RedisServer, store: &Arc<RedisStore>, shape: Shape) -> Figures {
    let name = shape.name();
    let kpis = shape != Shape::Plain;
    let experiment = Arc::new(experiment(name, shape));
    let before = used_memory(server);
    for chunk in (0..units()).collect::<Vec<_>>().chunks(1_000) {
        join_all(chunk.iter().map(|&unit| {
            let (store, experiment) = (store.clone(), experiment.clone());
            async move {
                let segments = if kpis {
                    [
                        ("device", DEVICES[unit as usize % DEVICES.len()]),
                        ("country", COUNTRIES[unit as usize % COUNTRIES.len()]),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
                } else {
                    Default::default()
                };
                let exposure = Exposure {
                    unit_id: format!("{name}-u{unit:09}"),
                    variant: (unit % 2) as usize,
                    at: Timestamp::from_millis(T0),
                    segments,
                    plugin_version: None,
                    covariates: covariates(shape, unit),
                };
                store
                    .record_exposure(&experiment, &exposure)
                    .await
                    .expect("exposed")
            }
        }))
        .await;
    }
    let exposed = used_memory(server);
    let batches: Vec<Vec<OutcomeEvent>> = (0..units())
        .collect::<Vec<_>>()
        .chunks(50 / 4)
        .map(|chunk| {
            chunk
                .iter()
                .flat_map(|&unit| {
                    [
                        ("add_to_cart", None),
                        ("purchase", Some(30.0)),
                        ("support_ticket", None),
                        ("survey", Some((unit % 11) as f64)),
                    ]
                    .map(|(event, value)| OutcomeEvent {
                        id: format!("{name}-{event}-{unit}"),
                        unit_id: format!("{name}-u{unit:09}"),
                        name: event.into(),
                        value,
                        timestamp: Timestamp::from_millis(T0 + 60_000),
                    })
                })
                .collect()
        })
        .collect();
    let events: usize = batches.iter().map(Vec::len).sum();
    let cpu_before = redis_cpu_seconds(server);
    let started = Instant::now();
    for in_flight in batches.chunks(8) {
        join_all(in_flight.iter().map(|batch| {
            let (store, experiment) = (store.clone(), experiment.clone());
            async move {
                store
                    .record_events(std::slice::from_ref(&experiment), batch)
                    .await
                    .expect("recorded")
            }
        }))
        .await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let redis_us_per_event = (redis_cpu_seconds(server) - cpu_before) * 1e6 / events as f64;
    let journeyed = used_memory(server);
    Figures {
        exposure_bytes: (exposed - before) / units() as f64,
        total_bytes: (journeyed - before) / units() as f64,
        events_per_second: events as f64 / seconds,
        redis_us_per_event,
    }
}

#[tokio::main]
async fn main() {
    let server = RedisServer::start();
    let store = Arc::new(RedisStore::connect(&server.url()).await.expect("store"));
    let mib_per_million = |bytes: f64| bytes * 1e6 / (1024.0 * 1024.0);
    eprintln!(
        "{} units per shape; 4 events per unit in batches of ~48, 8 in flight",
        units()
    );
    eprintln!(
        "shape   exposure B/unit (MiB/M)   with events B/unit (MiB/M)   events/s   Redis µs/event"
    );
    for shape in [Shape::Plain, Shape::Kpis, Shape::Cuped] {
        let figures = measure(&server, &store, shape).await;
        eprintln!(
            "{:<7} {:>8.0} ({:>6.1})          {:>8.0} ({:>6.1})             {:>8.0}   {:>6.1}",
            shape.name(),
            figures.exposure_bytes,
            mib_per_million(figures.exposure_bytes),
            figures.total_bytes,
            mib_per_million(figures.total_bytes),
            figures.events_per_second,
            figures.redis_us_per_event,
        );
    }
}
