//! The integration tests of touchstone-model, one binary with a module per area (one
//! executable links faster than one per file).

mod assignment;
mod definitions;
mod examples;
mod holdouts;
mod phases;
mod program;
mod reshuffle;
mod targeting;
mod validation;
mod vectors;

use serde_json::{Value, json};
use touchstone_model::{Experiment, ExperimentSpec};

/// A valid definition as JSON, for tests to change one field of.
fn base_json() -> Value {
    json!({
        "key": "free-shipping-35",
        "touchpoint": "checkout.shipping",
        "traffic": 1.0,
        "variants": [
            {"key": "control", "weight": 0.5, "payload": {"threshold": 50}},
            {"key": "threshold_35", "weight": 0.5, "payload": {"threshold": 35}}
        ],
        "control": "control",
        "journey": ["begin_checkout", "add_payment_info", "purchase"],
        "value_event": "purchase",
        "conversion_window_hours": 168
    })
}

fn spec_from(value: Value) -> ExperimentSpec {
    serde_json::from_value(value).expect("test definition deserializes")
}

fn base_spec() -> ExperimentSpec {
    spec_from(base_json())
}

fn experiment(spec: ExperimentSpec) -> Experiment {
    Experiment::new(spec).expect("test definition is valid")
}

fn base_experiment() -> Experiment {
    experiment(base_spec())
}
