//! Targeting operators, table-driven: loose numeric equality, numeric strings, missing and null
//! attributes, and how an experiment combines its conditions.

use super::{base_json, experiment, spec_from};
use serde_json::{Map, Value, json};
use touchstone_model::Condition;
use touchstone_model::targeting::matches_all;

struct Case {
    name: &'static str,
    condition: Value,
    attributes: Value,
    expected: bool,
}

fn attributes(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("attributes must be an object, got {other}"),
    }
}

fn check(case: &Case) {
    let condition: Condition =
        serde_json::from_value(case.condition.clone()).expect("condition deserializes");
    assert!(
        condition.problems().is_empty(),
        "case `{}` is malformed",
        case.name
    );
    let actual = condition.matches(&attributes(case.attributes.clone()));
    assert_eq!(actual, case.expected, "case `{}`", case.name);
}

fn case(name: &'static str, condition: Value, attributes: Value, expected: bool) -> Case {
    Case {
        name,
        condition,
        attributes,
        expected,
    }
}

fn cases() -> Vec<Case> {
    let country_in = json!({"attribute": "country", "op": "in", "value": ["DE", "AT", "NL"]});
    let cart_gte = json!({"attribute": "cart_value", "op": "gte", "value": 10});
    vec![
        case(
            "equals, same string",
            json!({"attribute": "device", "op": "equals", "value": "mobile"}),
            json!({"device": "mobile"}),
            true,
        ),
        case(
            "equals is case-sensitive",
            json!({"attribute": "device", "op": "equals", "value": "mobile"}),
            json!({"device": "Mobile"}),
            false,
        ),
        case(
            "equals, 2 and 2.0",
            json!({"attribute": "n", "op": "equals", "value": 2}),
            json!({"n": 2.0}),
            true,
        ),
        case(
            "equals, numeric string and number",
            json!({"attribute": "n", "op": "equals", "value": 42}),
            json!({"n": " 42 "}),
            true,
        ),
        case(
            "equals, boolean is not its string",
            json!({"attribute": "member", "op": "equals", "value": true}),
            json!({"member": "true"}),
            false,
        ),
        case(
            "equals, boolean",
            json!({"attribute": "member", "op": "equals", "value": true}),
            json!({"member": true}),
            true,
        ),
        case(
            "equals, missing attribute",
            json!({"attribute": "device", "op": "equals", "value": "mobile"}),
            json!({}),
            false,
        ),
        case(
            "equals null matches a null attribute",
            json!({"attribute": "coupon", "op": "equals", "value": null}),
            json!({"coupon": null}),
            true,
        ),
        case(
            "not_equals, other value",
            json!({"attribute": "device", "op": "not_equals", "value": "mobile"}),
            json!({"device": "desktop"}),
            true,
        ),
        case(
            "not_equals, same value",
            json!({"attribute": "device", "op": "not_equals", "value": "mobile"}),
            json!({"device": "mobile"}),
            false,
        ),
        case(
            "not_equals, missing attribute holds",
            json!({"attribute": "device", "op": "not_equals", "value": "mobile"}),
            json!({}),
            true,
        ),
        case(
            "in, listed",
            country_in.clone(),
            json!({"country": "AT"}),
            true,
        ),
        case(
            "in, not listed",
            country_in.clone(),
            json!({"country": "CH"}),
            false,
        ),
        case(
            "in, missing attribute",
            country_in.clone(),
            json!({}),
            false,
        ),
        case(
            "in, null attribute",
            country_in.clone(),
            json!({"country": null}),
            false,
        ),
        case(
            "in, numbers against a numeric string",
            json!({"attribute": "store", "op": "in", "value": [1, 2, 3]}),
            json!({"store": "2"}),
            true,
        ),
        case(
            "in, empty list",
            json!({"attribute": "country", "op": "in", "value": []}),
            json!({"country": "DE"}),
            false,
        ),
        case(
            "not_in, listed",
            json!({"attribute": "country", "op": "not_in", "value": ["DE"]}),
            json!({"country": "DE"}),
            false,
        ),
        case(
            "not_in, not listed",
            json!({"attribute": "country", "op": "not_in", "value": ["DE"]}),
            json!({"country": "FR"}),
            true,
        ),
        case(
            "not_in, missing attribute holds",
            json!({"attribute": "country", "op": "not_in", "value": ["DE"]}),
            json!({}),
            true,
        ),
        case(
            "gte, equal",
            cart_gte.clone(),
            json!({"cart_value": 10}),
            true,
        ),
        case(
            "gte, below",
            cart_gte.clone(),
            json!({"cart_value": 9.99}),
            false,
        ),
        case(
            "gte, numeric string",
            cart_gte.clone(),
            json!({"cart_value": "12.50"}),
            true,
        ),
        case(
            "gte, exponent string",
            cart_gte.clone(),
            json!({"cart_value": "1e2"}),
            true,
        ),
        case(
            "gte, word",
            cart_gte.clone(),
            json!({"cart_value": "lots"}),
            false,
        ),
        case(
            "gte, NaN string is not a number",
            cart_gte.clone(),
            json!({"cart_value": "NaN"}),
            false,
        ),
        case(
            "gte, infinity string is not a number",
            cart_gte.clone(),
            json!({"cart_value": "inf"}),
            false,
        ),
        case(
            "gte, boolean",
            cart_gte.clone(),
            json!({"cart_value": true}),
            false,
        ),
        case("gte, missing attribute", cart_gte.clone(), json!({}), false),
        case(
            "gte, null attribute",
            cart_gte,
            json!({"cart_value": null}),
            false,
        ),
        case(
            "gt, equal",
            json!({"attribute": "age", "op": "gt", "value": 30}),
            json!({"age": 30}),
            false,
        ),
        case(
            "gt, above",
            json!({"attribute": "age", "op": "gt", "value": 30}),
            json!({"age": 31}),
            true,
        ),
        case(
            "gt against a numeric string value",
            json!({"attribute": "age", "op": "gt", "value": "5"}),
            json!({"age": 8}),
            true,
        ),
        case(
            "lt, below",
            json!({"attribute": "age", "op": "lt", "value": 30}),
            json!({"age": -1}),
            true,
        ),
        case(
            "lt, equal",
            json!({"attribute": "age", "op": "lt", "value": 30}),
            json!({"age": 30}),
            false,
        ),
        case(
            "lt, missing attribute",
            json!({"attribute": "age", "op": "lt", "value": 30}),
            json!({}),
            false,
        ),
        case(
            "lte, equal",
            json!({"attribute": "age", "op": "lte", "value": 30}),
            json!({"age": "30"}),
            true,
        ),
        case(
            "lte, above",
            json!({"attribute": "age", "op": "lte", "value": 30}),
            json!({"age": 30.5}),
            false,
        ),
    ]
}

#[test]
fn every_operator_behaves_as_documented() {
    cases().iter().for_each(check);
}

#[test]
fn all_conditions_must_hold_and_none_means_everyone() {
    let conditions: Vec<Condition> = serde_json::from_value(json!([
        {"attribute": "country", "op": "in", "value": ["DE", "AT", "NL"]},
        {"attribute": "cart_value", "op": "gte", "value": 10}
    ]))
    .expect("conditions deserialize");
    let both = attributes(json!({"country": "NL", "cart_value": 35}));
    let one = attributes(json!({"country": "NL", "cart_value": 5}));
    assert!(matches_all(&conditions, &both));
    assert!(!matches_all(&conditions, &one));
    assert!(matches_all(&[], &attributes(json!({}))));

    let mut value = base_json();
    value["targeting"] = serde_json::to_value(&conditions).expect("serializes");
    let targeted = experiment(spec_from(value));
    assert!(targeted.targets(&both));
    assert!(!targeted.targets(&one));
    assert!(experiment(spec_from(base_json())).targets(&attributes(json!({}))));
}

#[test]
fn an_unknown_operator_or_field_is_refused_when_parsing() {
    let operator = serde_json::from_value::<Condition>(
        json!({"attribute": "country", "op": "regex", "value": "D."}),
    )
    .expect_err("unknown operator");
    assert!(operator.to_string().contains("regex"), "{operator}");
    let field = serde_json::from_value::<Condition>(
        json!({"attribute": "country", "op": "in", "value": ["DE"], "negate": true}),
    )
    .expect_err("unknown field");
    assert!(field.to_string().contains("negate"), "{field}");
}
