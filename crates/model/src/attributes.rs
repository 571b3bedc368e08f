//! Attributes a client sends with an assign request (country, device, cart value): bounded
//! before they reach targeting, a segment slice or a store key. A string is at most
//! `max_string_bytes`, a number at most ±[`MAX_ABS_NUMBER`], and an array or object is accepted
//! only where a targeting rule reads the attribute — it never becomes a segment value.

use crate::event::{MAX_ABS_NUMBER, is_bounded_number};
use crate::experiment::{SEGMENT_NONE, SEGMENT_OTHER};
use serde_json::Value;

/// Why an attribute was refused: `field` is `attributes` (the name) or `attributes.NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeProblem {
    pub field: String,
    pub message: String,
}

/// Checks one attribute. `read_by_targeting`: a targeting rule at the touchpoint reads this
/// attribute, so an array or object is kept for it (targeting may compare lists).
pub fn check(
    name: &str,
    value: &Value,
    max_string_bytes: usize,
    read_by_targeting: bool,
) -> Result<(), AttributeProblem> {
    if name.is_empty() || name.len() > max_string_bytes {
        return Err(AttributeProblem {
            field: "attributes".to_owned(),
            message: format!(
                "attribute names must be 1 to {max_string_bytes} bytes (limits.max_string_bytes)"
            ),
        });
    }
    let refuse = |message: String| {
        Err(AttributeProblem {
            field: format!("attributes.{name}"),
            message,
        })
    };
    match value {
        Value::String(text) if text.len() > max_string_bytes => refuse(format!(
            "must be at most {max_string_bytes} bytes (limits.max_string_bytes)"
        )),
        Value::String(text) if text == SEGMENT_NONE || text == SEGMENT_OTHER => refuse(format!(
            "`{text}` is reserved: results use it for units without a value / past \
             max_segment_values"
        )),
        Value::Number(number) if !number.as_f64().is_some_and(is_bounded_number) => refuse(
            format!("must be a number from -{MAX_ABS_NUMBER:e} to {MAX_ABS_NUMBER:e}"),
        ),
        Value::Array(_) | Value::Object(_) if !read_by_targeting => refuse(
            "must be a string, number, boolean or null: arrays and objects are accepted only \
             for an attribute that a running experiment's targeting at this touchpoint reads"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

/// The slice a unit's attribute puts it in: its text, number or boolean as sent, `(none)` when
/// absent or null, `(other)` for an array or object (a targeting input, never a slice) or a
/// text longer than `max_bytes` — so a slice name is always short.
pub fn segment_value(value: Option<&Value>, max_bytes: usize) -> String {
    let value = match value {
        None | Some(Value::Null) => return SEGMENT_NONE.to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(_) | Value::Object(_)) => return SEGMENT_OTHER.to_owned(),
        Some(scalar) => scalar.to_string(),
    };
    if value.len() > max_bytes {
        SEGMENT_OTHER.to_owned()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(name: &str, value: Value, read_by_targeting: bool) -> Option<String> {
        check(name, &value, 16, read_by_targeting)
            .err()
            .map(|problem| problem.field)
    }

    #[test]
    fn scalars_within_bounds_pass() {
        for value in [
            json!("mobile"),
            json!(42),
            json!(-1e15),
            json!(true),
            json!(null),
        ] {
            assert_eq!(field_of("device", value.clone(), false), None, "{value}");
        }
    }

    #[test]
    fn each_refusal_names_the_attribute() {
        let at = Some("attributes.a".to_owned());
        assert_eq!(field_of("a", json!("x".repeat(17)), false), at);
        assert_eq!(field_of("a", json!(1e200), false), at);
        assert_eq!(field_of("a", json!(-2e15), false), at);
        assert_eq!(field_of("a", json!("(none)"), false), at);
        assert_eq!(field_of("a", json!("(other)"), true), at);
        assert_eq!(field_of("a", json!([0, 1]), false), at);
        assert_eq!(field_of("a", json!({"b": 1}), false), at);
        assert_eq!(
            field_of(&"n".repeat(17), json!(1), false),
            Some("attributes".to_owned())
        );
        assert_eq!(field_of("", json!(1), false), Some("attributes".to_owned()));
    }

    #[test]
    fn arrays_and_objects_pass_only_where_targeting_reads_them() {
        assert_eq!(field_of("tags", json!(["a", "b"]), true), None);
        assert_eq!(field_of("cart", json!({"items": 3}), true), None);
    }

    #[test]
    fn segment_values_are_short_scalars_or_a_sentinel() {
        assert_eq!(segment_value(None, 16), SEGMENT_NONE);
        assert_eq!(segment_value(Some(&json!(null)), 16), SEGMENT_NONE);
        assert_eq!(segment_value(Some(&json!("DE")), 16), "DE");
        assert_eq!(segment_value(Some(&json!(42.5)), 16), "42.5");
        assert_eq!(segment_value(Some(&json!(false)), 16), "false");
        assert_eq!(segment_value(Some(&json!([1, 2])), 16), SEGMENT_OTHER);
        assert_eq!(segment_value(Some(&json!({"a": 1})), 16), SEGMENT_OTHER);
        assert_eq!(
            segment_value(Some(&json!("x".repeat(17))), 16),
            SEGMENT_OTHER
        );
    }
}
