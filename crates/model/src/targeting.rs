//! Targeting: conditions on the attributes sent with an assign request (country, device, cart
//! value). All conditions must hold. A missing attribute fails every condition except
//! `not_equals` / `not_in`, so "not in DE" includes units that did not say.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// `{"attribute": "country", "op": "in", "value": ["DE", "AT"]}`
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub attribute: String,
    pub op: Operator,
    pub value: Value,
}

impl Condition {
    /// Whether the condition holds for these attributes.
    pub fn matches(&self, attributes: &Map<String, Value>) -> bool {
        let actual = attributes.get(&self.attribute);
        match self.op {
            Operator::Equals => actual.is_some_and(|actual| loosely_equal(actual, &self.value)),
            Operator::NotEquals => !actual.is_some_and(|actual| loosely_equal(actual, &self.value)),
            Operator::In => actual.is_some_and(|actual| self.list_contains(actual)),
            Operator::NotIn => !actual.is_some_and(|actual| self.list_contains(actual)),
            Operator::Gt => self.compare(actual, |a, b| a > b),
            Operator::Gte => self.compare(actual, |a, b| a >= b),
            Operator::Lt => self.compare(actual, |a, b| a < b),
            Operator::Lte => self.compare(actual, |a, b| a <= b),
        }
    }

    fn list_contains(&self, actual: &Value) -> bool {
        self.value
            .as_array()
            .is_some_and(|list| list.iter().any(|item| loosely_equal(actual, item)))
    }

    fn compare(&self, actual: Option<&Value>, holds: impl Fn(f64, f64) -> bool) -> bool {
        match (actual.and_then(as_number), as_number(&self.value)) {
            (Some(actual), Some(expected)) => holds(actual, expected),
            _ => false,
        }
    }

    /// Problems with the condition's shape, as (field suffix, message).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut problems = Vec::new();
        if self.attribute.trim().is_empty() {
            problems.push(("attribute", "must not be empty"));
        }
        match self.op {
            Operator::In | Operator::NotIn if !self.value.is_array() => {
                problems.push(("value", "must be a list for `in` / `not_in`"));
            }
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte
                if as_number(&self.value).is_none() =>
            {
                problems.push(("value", "must be a number for a numeric comparison"));
            }
            Operator::Equals | Operator::NotEquals
                if self.value.is_array() || self.value.is_object() =>
            {
                problems.push(("value", "must be a string, number or boolean"));
            }
            _ => {}
        }
        problems
    }
}

/// Numbers compare by value (`2` equals `2.0`); a numeric string equals its number, because
/// shop front ends send `"42"` as often as `42`.
fn loosely_equal(actual: &Value, expected: &Value) -> bool {
    match (as_number(actual), as_number(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => actual == expected,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// Whether every condition holds.
pub fn matches_all(conditions: &[Condition], attributes: &Map<String, Value>) -> bool {
    conditions
        .iter()
        .all(|condition| condition.matches(attributes))
}
