//! Every rule of `experiment::validate`, table-driven: each case changes one thing in a valid
//! definition and names every (field, code) it must produce — no more, no fewer. The cases
//! live in `definition` (identity, variants, journey, targeting, salt), `metrics`
//! (metrics, segments, statistics settings), `program` (layers) and `covariates` (CUPED).

mod covariates;
mod definition;
mod metrics;
mod program;

use super::{base_json, base_spec, spec_from};
use serde_json::{Value, json};
use touchstone_model::Experiment;
use touchstone_model::experiment::validate;

pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) change: fn(&mut Value),
    pub(super) expected: &'static [(&'static str, &'static str)],
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

pub(super) fn many(count: usize, item: impl Fn(usize) -> Value) -> Value {
    Value::Array((0..count).map(item).collect())
}

pub(super) fn metric(key: &str) -> Value {
    json!({"key": key, "kind": "conversion", "event": "purchase"})
}

#[test]
fn every_rule_reports_its_field_and_code() {
    definition::CASES
        .iter()
        .chain(metrics::CASES)
        .chain(program::CASES)
        .chain(covariates::CASES)
        .for_each(check);
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
