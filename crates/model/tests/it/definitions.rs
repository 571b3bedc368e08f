//! Definitions parse from TOML and JSON into the same spec, with defaults filled in, and an
//! unknown or mistyped field is refused with a message that names it.

use super::{base_json, base_spec, experiment};
use serde_json::json;
use touchstone_model::experiment::{REVENUE_METRIC, TIME_TO_CONVERSION_METRIC};
use touchstone_model::{Direction, ExperimentSpec, MetricKind, MetricRole, Status};

const TOML: &str = r#"
key = "free-shipping-35"
touchpoint = "checkout.shipping"
control = "control"
journey = ["begin_checkout", "add_payment_info", "purchase"]
value_event = "purchase"
conversion_window_hours = 168

[[variants]]
key = "control"
weight = 0.5
payload = { threshold = 50 }

[[variants]]
key = "threshold_35"
weight = 0.5
payload = { threshold = 35 }
"#;

#[test]
fn toml_and_json_parse_to_the_same_spec() {
    let from_toml: ExperimentSpec = toml::from_str(TOML).expect("TOML parses");
    assert_eq!(from_toml, base_spec());
    let text = serde_json::to_string(&base_json()).expect("serializes");
    let from_json: ExperimentSpec = serde_json::from_str(&text).expect("JSON parses");
    assert_eq!(from_json, from_toml);
    assert_eq!(from_toml.variants[1].payload, json!({"threshold": 35}));
}

#[test]
fn omitted_fields_take_their_documented_defaults() {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": "k",
        "touchpoint": "t",
        "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}],
        "journey": ["purchase"]
    }))
    .expect("minimal definition parses");
    assert_eq!(spec.traffic, 1.0);
    assert_eq!(spec.conversion_window_hours, 168.0);
    assert_eq!(spec.status, Status::Draft);
    assert_eq!((spec.alpha, spec.power), (0.05, 0.8));
    assert_eq!(spec.minimum_detectable_effect, 0.05);
    assert_eq!(spec.sequential_tuning, 10_000.0);
    assert!(spec.variants[0].payload.is_null());
    assert!(spec.control.is_none() && spec.salt.is_none() && spec.value_event.is_none());

    let experiment = experiment(spec);
    assert_eq!(experiment.control().key, "a");
    assert_eq!(experiment.salt(), "k");
    assert_eq!(experiment.weights(), [0.5, 0.5]);
    // No value_event: only the built-in duration metric of the last stage.
    let keys: Vec<&str> = experiment
        .metrics()
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(keys, [TIME_TO_CONVERSION_METRIC]);
}

#[test]
fn declared_metrics_come_first_with_defaults_resolved() {
    let mut value = base_json();
    value["metrics"] = json!([
        {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2, "window_end_hours": 720},
        {"key": "support_tickets", "kind": "count", "event": "support_ticket", "direction": "decrease", "role": "guardrail"}
    ]);
    let experiment = experiment(serde_json::from_value(value).expect("parses"));
    let metrics = experiment.metrics();
    let keys: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "repeat_purchase",
            "support_tickets",
            REVENUE_METRIC,
            TIME_TO_CONVERSION_METRIC
        ]
    );
    assert_eq!(
        (metrics[0].min_count, metrics[0].window_end_hours),
        (2, 720.0)
    );
    assert_eq!(
        metrics[1].window_end_hours, 168.0,
        "defaults to the conversion window"
    );
    assert_eq!(
        (metrics[1].direction, metrics[1].role),
        (Direction::Decrease, MetricRole::Guardrail)
    );
    assert_eq!(metrics[2].kind, MetricKind::Sum);
    assert!(!metrics[0].built_in && metrics[2].built_in);
    assert_eq!(experiment.longest_window_hours(), 720.0);
    assert!(
        experiment.tracks_event("support_ticket") && experiment.tracks_event("add_payment_info")
    );
    assert!(!experiment.tracks_event("page_view"));
}

#[test]
fn an_unknown_json_field_is_named_with_its_position() {
    let mut value = base_json();
    value["trafic"] = json!(0.5);
    let text = serde_json::to_string(&value).expect("serializes");
    let error = serde_json::from_str::<ExperimentSpec>(&text).expect_err("typo refused");
    let message = error.to_string();
    assert!(message.contains("unknown field `trafic`"), "{message}");
    assert!(
        message.contains("expected one of") && message.contains("`traffic`"),
        "{message}"
    );
    assert!(message.contains("line 1 column"), "{message}");
}

#[test]
fn an_unknown_toml_field_is_named_with_its_line() {
    let text = TOML.replace("value_event =", "value_evnt =");
    let error = toml::from_str::<ExperimentSpec>(&text).expect_err("typo refused");
    let message = error.to_string();
    assert!(message.contains("unknown field `value_evnt`"), "{message}");
    assert!(message.contains("line 6"), "{message}");
}

#[test]
fn unknown_fields_inside_variants_metrics_and_conditions_are_refused() {
    let nested = [
        (
            "variants",
            json!([{"key": "a", "weight": 1, "wieght": 2}, {"key": "b", "weight": 1}]),
            "wieght",
        ),
        (
            "metrics",
            json!([{"key": "m", "kind": "sum", "event": "e", "windw": 3}]),
            "windw",
        ),
        (
            "targeting",
            json!([{"attribute": "country", "op": "in", "value": ["DE"], "not": true}]),
            "not",
        ),
    ];
    for (field, replacement, unknown) in nested {
        let mut value = base_json();
        value[field] = replacement;
        let error = serde_json::from_value::<ExperimentSpec>(value).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains(&format!("unknown field `{unknown}`")),
            "{error}"
        );
    }
}

#[test]
fn a_mistyped_or_missing_field_is_named() {
    let mut value = base_json();
    value["traffic"] = json!("half");
    let error = serde_json::from_value::<ExperimentSpec>(value).expect_err("refused");
    assert!(
        error.to_string().contains("invalid type: string \"half\""),
        "{error}"
    );

    let mut value = base_json();
    value.as_object_mut().expect("object").remove("journey");
    let error = serde_json::from_value::<ExperimentSpec>(value).expect_err("refused");
    assert!(
        error.to_string().contains("missing field `journey`"),
        "{error}"
    );

    let mut value = base_json();
    value["status"] = json!("paused");
    let error = serde_json::from_value::<ExperimentSpec>(value).expect_err("refused");
    assert!(
        error.to_string().contains("unknown variant `paused`"),
        "{error}"
    );
}

#[test]
fn a_spec_round_trips_through_json_and_toml() {
    let mut value = base_json();
    value["status"] = json!("running");
    value["salt"] = json!("fs-2026");
    value["segments"] = json!(["country", "device"]);
    value["targeting"] = json!([{"attribute": "cart_value", "op": "gte", "value": 10}]);
    let spec: ExperimentSpec = serde_json::from_value(value).expect("parses");
    let json_text = serde_json::to_string(&spec).expect("to JSON");
    assert_eq!(
        serde_json::from_str::<ExperimentSpec>(&json_text).expect("from JSON"),
        spec
    );
    let toml_text = toml::to_string(&spec).expect("to TOML");
    assert_eq!(
        toml::from_str::<ExperimentSpec>(&toml_text).expect("from TOML"),
        spec
    );
}
