//! Experiments, events and readers shared by the store tests.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, Moments, OutcomeEvent, StageAggregates, Timestamp,
};
use touchstone_store::{Exposure, ExposureRecord, Store};

/// 2026-11-23T10:00:00Z, the exposure time of most units.
pub const T0: i64 = 1_795_428_000_000;
pub const HOUR: i64 = 3_600_000;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A key no other test uses (tests share one Redis).
pub fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Two variants, journey add_to_cart → purchase, revenue from `purchase`, a 24 h window and
/// one metric of each kind.
pub fn experiment(name: &str) -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": unique(name),
        "touchpoint": "checkout.shipping",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["add_to_cart", "purchase"],
        "value_event": "purchase",
        "conversion_window_hours": 24.0,
        "status": "running",
        "metrics": [
            {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2},
            {"key": "purchases", "kind": "count", "event": "purchase"},
            {"key": "returned", "kind": "conversion", "event": "visit",
             "window_start_hours": 48.0, "window_end_hours": 72.0},
            {"key": "nps", "kind": "nps", "event": "survey"},
            {"key": "effort", "kind": "mean", "event": "effort"},
        ],
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("spec is valid")
}

pub async fn expose(
    store: &dyn Store,
    experiment: &Experiment,
    unit: &str,
    variant: usize,
    at: i64,
) -> ExposureRecord {
    store
        .record_exposure(
            experiment,
            &Exposure {
                unit_id: unit.into(),
                variant,
                at: Timestamp::from_millis(at),
                segments: BTreeMap::from([("device".to_owned(), "mobile".to_owned())]),
                plugin_version: None,
                covariates: Default::default(),
            },
        )
        .await
        .expect("exposure recorded")
}

pub fn event(id: &str, unit: &str, name: &str, value: Option<f64>, at: i64) -> OutcomeEvent {
    OutcomeEvent {
        id: id.into(),
        unit_id: unit.into(),
        name: name.into(),
        value,
        timestamp: Timestamp::from_millis(at),
    }
}

pub async fn aggregates(store: &dyn Store, experiment: &Experiment) -> Aggregates {
    store
        .load_aggregates(experiment)
        .await
        .expect("aggregates load")
}

pub fn metric(aggregates: &Aggregates, variant: usize, key: &str) -> Moments {
    aggregates.variants[variant]
        .metrics
        .iter()
        .find(|metric| metric.metric == key)
        .unwrap_or_else(|| panic!("metric {key} missing"))
        .moments
}

pub fn stage<'a>(aggregates: &'a Aggregates, variant: usize, name: &str) -> &'a StageAggregates {
    aggregates.variants[variant]
        .stages
        .iter()
        .find(|stage| stage.stage == name)
        .unwrap_or_else(|| panic!("stage {name} missing"))
}

pub fn moments(count: u64, sum: f64, sum_squares: f64) -> Moments {
    Moments {
        count,
        sum,
        sum_squares,
    }
}
