//! Every rule of `experiment::validate`, table-driven: each case changes one thing in a valid
//! definition and names every (field, code) it must produce — no more, no fewer.

use super::{base_json, base_spec, spec_from};
use serde_json::{Value, json};
use touchstone_model::Experiment;
use touchstone_model::experiment::validate;

struct Case {
    name: &'static str,
    change: fn(&mut Value),
    expected: &'static [(&'static str, &'static str)],
}

fn check(case: &Case) {
    let mut value = base_json();
    (case.change)(&mut value);
    let spec = spec_from(value);
    let errors = validate(&spec);
    let actual: Vec<(&str, &str)> = errors
        .errors()
        .iter()
        .map(|error| (error.field.as_str(), error.code))
        .collect();
    assert_eq!(actual, case.expected, "case `{}`: {errors}", case.name);
    for error in errors.errors() {
        assert!(
            !error.message.is_empty(),
            "case `{}`: empty message",
            case.name
        );
    }
    // Experiment::new refuses exactly when validate finds something, with the same list.
    match Experiment::new(spec) {
        Ok(_) => assert!(
            case.expected.is_empty(),
            "case `{}` was accepted",
            case.name
        ),
        Err(refused) => assert_eq!(refused, errors, "case `{}`", case.name),
    }
}

fn many(count: usize, item: impl Fn(usize) -> Value) -> Value {
    Value::Array((0..count).map(item).collect())
}

fn metric(key: &str) -> Value {
    json!({"key": key, "kind": "conversion", "event": "purchase"})
}

const CASES: &[Case] = &[
    Case {
        name: "the base definition",
        change: |_| {},
        expected: &[],
    },
    Case {
        name: "empty key",
        change: |v| v["key"] = json!(""),
        expected: &[("key", "invalid")],
    },
    Case {
        name: "key with a space",
        change: |v| v["key"] = json!("free shipping"),
        expected: &[("key", "invalid")],
    },
    Case {
        name: "key of 65 characters",
        change: |v| v["key"] = json!("k".repeat(65)),
        expected: &[("key", "invalid")],
    },
    Case {
        name: "key of 64 characters",
        change: |v| v["key"] = json!("k".repeat(64)),
        expected: &[],
    },
    Case {
        name: "blank touchpoint",
        change: |v| v["touchpoint"] = json!("  "),
        expected: &[("touchpoint", "invalid")],
    },
    Case {
        name: "touchpoint of 129 characters",
        change: |v| v["touchpoint"] = json!("t".repeat(129)),
        expected: &[("touchpoint", "invalid")],
    },
    Case {
        name: "traffic above 1",
        change: |v| v["traffic"] = json!(1.5),
        expected: &[("traffic", "out_of_range")],
    },
    Case {
        name: "negative traffic",
        change: |v| v["traffic"] = json!(-0.1),
        expected: &[("traffic", "out_of_range")],
    },
    Case {
        name: "zero traffic",
        change: |v| v["traffic"] = json!(0.0),
        expected: &[],
    },
    Case {
        name: "one variant",
        change: |v| v["variants"] = json!([{"key": "control", "weight": 1}]),
        expected: &[("variants", "too_few")],
    },
    Case {
        name: "21 variants",
        change: |v| {
            v["variants"] = many(21, |i| json!({"key": format!("v{i}"), "weight": 1}));
            v["control"] = json!("v0");
        },
        expected: &[("variants", "too_many")],
    },
    Case {
        name: "variant key with a space",
        change: |v| v["variants"][1]["key"] = json!("threshold 35"),
        expected: &[("variants[1].key", "invalid")],
    },
    Case {
        name: "duplicate variant key",
        change: |v| v["variants"][1]["key"] = json!("control"),
        expected: &[("variants[1].key", "duplicate")],
    },
    Case {
        name: "zero weight",
        change: |v| v["variants"][1]["weight"] = json!(0),
        expected: &[("variants[1].weight", "out_of_range")],
    },
    Case {
        name: "negative weight",
        change: |v| v["variants"][0]["weight"] = json!(-1),
        expected: &[("variants[0].weight", "out_of_range")],
    },
    Case {
        name: "weights not summing to 1 are normalized",
        change: |v| v["variants"][1]["weight"] = json!(3),
        expected: &[],
    },
    Case {
        name: "weights whose total overflows",
        change: |v| {
            v["variants"][0]["weight"] = json!(1e308);
            v["variants"][1]["weight"] = json!(1e308);
        },
        expected: &[("variants", "out_of_range")],
    },
    Case {
        name: "unknown control",
        change: |v| v["control"] = json!("treatment"),
        expected: &[("control", "unknown")],
    },
    Case {
        name: "control omitted",
        change: |v| v["control"] = Value::Null,
        expected: &[],
    },
    Case {
        name: "empty journey",
        change: |v| v["journey"] = json!([]),
        expected: &[("journey", "required")],
    },
    Case {
        name: "21 stages",
        change: |v| v["journey"] = many(21, |i| json!(format!("stage_{i}"))),
        expected: &[("journey", "too_many")],
    },
    Case {
        name: "duplicate stage",
        change: |v| v["journey"] = json!(["add_to_cart", "purchase", "add_to_cart"]),
        expected: &[("journey[2]", "duplicate")],
    },
    Case {
        name: "stage with a space",
        change: |v| v["journey"] = json!(["add to cart"]),
        expected: &[("journey[0]", "invalid")],
    },
    Case {
        name: "zero conversion window",
        change: |v| v["conversion_window_hours"] = json!(0),
        expected: &[("conversion_window_hours", "out_of_range")],
    },
    Case {
        name: "negative conversion window",
        change: |v| v["conversion_window_hours"] = json!(-24),
        expected: &[("conversion_window_hours", "out_of_range")],
    },
    Case {
        name: "empty value event",
        change: |v| v["value_event"] = json!(""),
        expected: &[("value_event", "invalid")],
    },
    Case {
        name: "value event with a space",
        change: |v| v["value_event"] = json!("big purchase"),
        expected: &[("value_event", "invalid")],
    },
    Case {
        name: "value event outside the journey",
        change: |v| v["value_event"] = json!("refund"),
        expected: &[],
    },
    Case {
        name: "targeting without attribute",
        change: |v| v["targeting"] = json!([{"attribute": " ", "op": "equals", "value": "DE"}]),
        expected: &[("targeting[0].attribute", "invalid")],
    },
    Case {
        name: "`in` with a single value",
        change: |v| v["targeting"] = json!([{"attribute": "country", "op": "equals", "value": "DE"}, {"attribute": "country", "op": "in", "value": "DE"}]),
        expected: &[("targeting[1].value", "invalid")],
    },
    Case {
        name: "`not_in` with a number",
        change: |v| v["targeting"] = json!([{"attribute": "country", "op": "not_in", "value": 3}]),
        expected: &[("targeting[0].value", "invalid")],
    },
    Case {
        name: "numeric comparison with a word",
        change: |v| {
            v["targeting"] = json!([{"attribute": "cart_value", "op": "gte", "value": "ten"}])
        },
        expected: &[("targeting[0].value", "invalid")],
    },
    Case {
        name: "numeric comparison with a numeric string",
        change: |v| {
            v["targeting"] = json!([{"attribute": "cart_value", "op": "lt", "value": "10.5"}])
        },
        expected: &[],
    },
    Case {
        name: "equals with an object",
        change: |v| {
            v["targeting"] = json!([{"attribute": "device", "op": "not_equals", "value": {"a": 1}}])
        },
        expected: &[("targeting[0].value", "invalid")],
    },
    Case {
        name: "empty salt",
        change: |v| v["salt"] = json!(""),
        expected: &[("salt", "invalid")],
    },
    Case {
        name: "salt of 129 characters",
        change: |v| v["salt"] = json!("s".repeat(129)),
        expected: &[("salt", "invalid")],
    },
    Case {
        name: "21 metrics",
        change: |v| v["metrics"] = many(21, |i| metric(&format!("m{i}"))),
        expected: &[("metrics", "too_many")],
    },
    Case {
        name: "metric named like the revenue metric",
        change: |v| v["metrics"] = json!([metric("revenue_per_unit")]),
        expected: &[("metrics[0].key", "reserved")],
    },
    Case {
        name: "metric named like the duration metric",
        change: |v| v["metrics"] = json!([metric("time_to_conversion")]),
        expected: &[("metrics[0].key", "reserved")],
    },
    Case {
        name: "duplicate metric",
        change: |v| v["metrics"] = json!([metric("repeat"), metric("repeat")]),
        expected: &[("metrics[1].key", "duplicate")],
    },
    Case {
        name: "metric key with a space",
        change: |v| v["metrics"] = json!([metric("repeat purchase")]),
        expected: &[("metrics[0].key", "invalid")],
    },
    Case {
        name: "metric without event",
        change: |v| v["metrics"] = json!([{"key": "nps", "kind": "nps", "event": ""}]),
        expected: &[("metrics[0].event", "invalid")],
    },
    Case {
        name: "negative window start",
        change: |v| {
            v["metrics"] =
                json!([{"key": "m", "kind": "count", "event": "e", "window_start_hours": -1}])
        },
        expected: &[("metrics[0].window_start_hours", "out_of_range")],
    },
    Case {
        name: "window ending where it starts",
        change: |v| v["metrics"] = json!([{"key": "m", "kind": "sum", "event": "e", "window_start_hours": 24, "window_end_hours": 24}]),
        expected: &[("metrics[0].window_end_hours", "out_of_range")],
    },
    Case {
        name: "window starting after the default end (the conversion window)",
        change: |v| {
            v["metrics"] =
                json!([{"key": "m", "kind": "sum", "event": "e", "window_start_hours": 200}])
        },
        expected: &[("metrics[0].window_end_hours", "out_of_range")],
    },
    Case {
        name: "window longer than the conversion window",
        change: |v| {
            v["metrics"] =
                json!([{"key": "m", "kind": "sum", "event": "e", "window_end_hours": 720}])
        },
        expected: &[],
    },
    Case {
        name: "min_count on a sum",
        change: |v| {
            v["metrics"] = json!([{"key": "m", "kind": "sum", "event": "e", "min_count": 2}])
        },
        expected: &[("metrics[0].min_count", "not_applicable")],
    },
    Case {
        name: "min_count of zero",
        change: |v| {
            v["metrics"] = json!([{"key": "m", "kind": "conversion", "event": "e", "min_count": 0}])
        },
        expected: &[("metrics[0].min_count", "out_of_range")],
    },
    Case {
        name: "11 segments",
        change: |v| v["segments"] = many(11, |i| json!(format!("s{i}"))),
        expected: &[("segments", "too_many")],
    },
    Case {
        name: "blank segment",
        change: |v| v["segments"] = json!(["country", " "]),
        expected: &[("segments[1]", "invalid")],
    },
    Case {
        name: "duplicate segment",
        change: |v| v["segments"] = json!(["device", "device"]),
        expected: &[("segments[1]", "duplicate")],
    },
    Case {
        name: "alpha of zero",
        change: |v| v["alpha"] = json!(0),
        expected: &[("alpha", "out_of_range")],
    },
    Case {
        name: "alpha of one half",
        change: |v| v["alpha"] = json!(0.5),
        expected: &[("alpha", "out_of_range")],
    },
    Case {
        name: "sequential tuning below one unit",
        change: |v| v["sequential_tuning"] = json!(0.5),
        expected: &[("sequential_tuning", "out_of_range")],
    },
    Case {
        name: "zero minimum detectable effect",
        change: |v| v["minimum_detectable_effect"] = json!(0),
        expected: &[("minimum_detectable_effect", "out_of_range")],
    },
    Case {
        name: "power of one",
        change: |v| v["power"] = json!(1),
        expected: &[("power", "out_of_range")],
    },
];

#[test]
fn every_rule_reports_its_field_and_code() {
    CASES.iter().for_each(check);
}

#[test]
fn every_problem_is_returned_at_once_in_field_order() {
    check(&Case {
        name: "many problems",
        change: |v| {
            v["key"] = json!("");
            v["traffic"] = json!(2);
            v["variants"][1]["weight"] = json!(0);
            v["control"] = json!("nope");
            v["journey"] = json!(["purchase", "purchase"]);
            v["alpha"] = json!(1);
        },
        expected: &[
            ("key", "invalid"),
            ("traffic", "out_of_range"),
            ("variants[1].weight", "out_of_range"),
            ("control", "unknown"),
            ("journey[1]", "duplicate"),
            ("alpha", "out_of_range"),
        ],
    });
}

#[test]
fn problems_serialize_as_field_code_and_message_and_display_joined() {
    let mut value = base_json();
    value["key"] = json!("");
    value["traffic"] = json!(2);
    let errors = validate(&spec_from(value));
    let wire = serde_json::to_value(&errors).expect("serializes");
    assert_eq!(wire[0]["field"], "key");
    assert_eq!(wire[0]["code"], "invalid");
    assert_eq!(wire[1]["field"], "traffic");
    assert!(wire[1]["message"].as_str().is_some_and(|m| !m.is_empty()));
    let text = errors.to_string();
    assert!(
        text.starts_with("key: ") && text.contains("; traffic: "),
        "{text}"
    );
}

#[test]
fn a_valid_definition_has_no_problems_and_keeps_its_spec() {
    let spec = base_spec();
    assert!(validate(&spec).is_empty());
    let experiment = Experiment::new(spec.clone()).expect("valid");
    assert_eq!(experiment.spec(), &spec);
}
