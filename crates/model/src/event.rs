//! Outcome events: something a unit did (`add_to_cart`, `purchase` with a value). Decoded one
//! by one from JSON so that one bad event in a batch is reported by its index and field while
//! the others are still recorded.

use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest accepted id, unit id or event name, in bytes.
pub const MAX_TEXT_LEN: usize = 256;

/// Largest |value| an event may carry: results keep the sum of squares of values per
/// variant, and 1e100² · 2⁶⁴ events stays far inside f64 (decision 017).
pub const MAX_EVENT_VALUE: f64 = 1e100;

/// A validated outcome event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeEvent {
    /// Client-chosen id; a retried request with the same id is never counted twice.
    pub id: String,
    pub unit_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// When it happened (the server's receive time when the client sent none).
    pub timestamp: Timestamp,
}

/// Why one event of a batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventProblem {
    pub field: &'static str,
    pub message: String,
}

impl EventProblem {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl OutcomeEvent {
    /// Decodes one event of a batch. `received_at` stands in for a missing timestamp;
    /// timestamps more than `max_future_skew_ms` ahead of it are refused (a client clock
    /// that far off would place events outside every window).
    pub fn from_json(
        raw: &Value,
        received_at: Timestamp,
        max_future_skew_ms: i64,
    ) -> Result<OutcomeEvent, EventProblem> {
        let object = raw
            .as_object()
            .ok_or_else(|| EventProblem::new("event", "must be a JSON object"))?;
        for key in object.keys() {
            if !matches!(
                key.as_str(),
                "id" | "unit_id" | "name" | "value" | "timestamp" | "attributes"
            ) {
                return Err(EventProblem::new(
                    "event",
                    format!(
                        "unknown field `{key}`; expected id, unit_id, name, value, timestamp, attributes"
                    ),
                ));
            }
        }
        // Attributes (currency, user agent) are for the event plugin, not counted themselves.
        if !matches!(
            object.get("attributes"),
            None | Some(Value::Object(_)) | Some(Value::Null)
        ) {
            return Err(EventProblem::new("attributes", "must be an object"));
        }
        let id = required_text(object.get("id"), "id")?;
        let unit_id = required_text(object.get("unit_id"), "unit_id")?;
        let name = required_text(object.get("name"), "name")?;
        let value = match object.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) => match number.as_f64() {
                Some(value) if value.is_finite() && value.abs() <= MAX_EVENT_VALUE => Some(value),
                Some(value) if value.is_finite() => {
                    return Err(EventProblem::new(
                        "value",
                        "must be at most 1e100 in magnitude: results sum its square, which must stay within f64",
                    ));
                }
                _ => return Err(EventProblem::new("value", "must be a finite number")),
            },
            Some(_) => return Err(EventProblem::new("value", "must be a number")),
        };
        let timestamp = match object.get("timestamp") {
            None | Some(Value::Null) => received_at,
            Some(raw) => Timestamp::deserialize(raw)
                .map_err(|error| EventProblem::new("timestamp", error.to_string()))?,
        };
        if timestamp.as_millis() > received_at.as_millis().saturating_add(max_future_skew_ms) {
            return Err(EventProblem::new(
                "timestamp",
                "lies in the future; check the client clock",
            ));
        }
        Ok(OutcomeEvent {
            id,
            unit_id,
            name,
            value,
            timestamp,
        })
    }
}

fn required_text(value: Option<&Value>, field: &'static str) -> Result<String, EventProblem> {
    match value {
        Some(Value::String(text)) if text.is_empty() => {
            Err(EventProblem::new(field, "must not be empty"))
        }
        Some(Value::String(text)) if text.len() > MAX_TEXT_LEN => Err(EventProblem::new(
            field,
            format!("must be at most {MAX_TEXT_LEN} bytes"),
        )),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(EventProblem::new(field, "must be a string")),
        None => Err(EventProblem::new(field, "is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp::from_millis(1_795_428_000_000);

    #[test]
    fn a_missing_timestamp_takes_the_receive_time() {
        let event = OutcomeEvent::from_json(
            &json!({"id": "e1", "unit_id": "u1", "name": "purchase", "value": 42.5}),
            NOW,
            300_000,
        )
        .expect("valid event");
        assert_eq!(event.timestamp, NOW);
        assert_eq!(event.value, Some(42.5));
    }

    #[test]
    fn each_problem_names_its_field() {
        let cases = [
            (json!({"unit_id": "u", "name": "n"}), "id"),
            (json!({"id": "e", "unit_id": 7, "name": "n"}), "unit_id"),
            (json!({"id": "e", "unit_id": "u", "name": ""}), "name"),
            (
                json!({"id": "e", "unit_id": "u", "name": "n", "value": "9"}),
                "value",
            ),
            (
                json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": "yesterday"}),
                "timestamp",
            ),
            (
                json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": NOW.as_millis() + 3_600_000}),
                "timestamp",
            ),
            (
                json!({"id": "e", "unit_id": "u", "name": "n", "colour": "red"}),
                "event",
            ),
            (json!([1, 2]), "event"),
        ];
        for (raw, field) in cases {
            let problem = OutcomeEvent::from_json(&raw, NOW, 300_000).expect_err("must be refused");
            assert_eq!(problem.field, field, "{raw}");
        }
    }
    fn decode(raw: serde_json::Value) -> Result<OutcomeEvent, EventProblem> {
        OutcomeEvent::from_json(&raw, NOW, 300_000)
    }

    #[test]
    fn values_may_be_absent_null_whole_or_negative() {
        let base = json!({"id": "e", "unit_id": "u", "name": "refund"});
        assert_eq!(decode(base.clone()).expect("no value").value, None);
        let mut with = base.clone();
        with["value"] = json!(null);
        assert_eq!(decode(with.clone()).expect("null value").value, None);
        with["value"] = json!(3);
        assert_eq!(decode(with.clone()).expect("integer").value, Some(3.0));
        with["value"] = json!(-19.99);
        assert_eq!(decode(with).expect("refund").value, Some(-19.99));
    }

    #[test]
    fn text_fields_are_limited_in_bytes_not_characters() {
        let at_limit = "u".repeat(MAX_TEXT_LEN);
        let event =
            decode(json!({"id": "e", "unit_id": at_limit, "name": "n"})).expect("at the limit");
        assert_eq!(event.unit_id.len(), MAX_TEXT_LEN);
        let over = "u".repeat(MAX_TEXT_LEN + 1);
        let problem = decode(json!({"id": "e", "unit_id": over, "name": "n"})).expect_err("over");
        assert_eq!(problem.field, "unit_id");
        // 129 two-byte characters: 258 bytes.
        let wide = "é".repeat(129);
        let problem = decode(json!({"id": wide, "unit_id": "u", "name": "n"})).expect_err("wide");
        assert_eq!(problem.field, "id");
    }

    #[test]
    fn timestamps_may_be_rfc3339_with_offset_or_millis() {
        let event = decode(json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": "2026-11-23T11:00:00+01:00"}))
            .expect("rfc3339");
        assert_eq!(event.timestamp, NOW);
        let event = decode(
            json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": NOW.as_millis() - 1_000}),
        )
        .expect("millis");
        assert_eq!(event.timestamp.as_millis(), NOW.as_millis() - 1_000);
        let event = decode(json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": null}))
            .expect("null");
        assert_eq!(event.timestamp, NOW);
    }

    #[test]
    fn the_future_skew_limit_is_inclusive() {
        let at_limit =
            json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": NOW.as_millis() + 300_000});
        assert!(decode(at_limit).is_ok());
        let beyond =
            json!({"id": "e", "unit_id": "u", "name": "n", "timestamp": NOW.as_millis() + 300_001});
        assert_eq!(decode(beyond).expect_err("future").field, "timestamp");
    }

    #[test]
    fn an_unknown_field_names_itself_and_the_expected_ones() {
        let problem = decode(json!({"id": "e", "unit_id": "u", "name": "n", "user": "x"}))
            .expect_err("unknown");
        assert!(problem.message.contains("`user`"), "{}", problem.message);
        assert!(problem.message.contains("unit_id"), "{}", problem.message);
    }

    #[test]
    fn every_refusal_carries_a_message() {
        for raw in [
            json!(null),
            json!("e"),
            json!({}),
            json!({"id": "", "unit_id": "u", "name": "n"}),
        ] {
            let problem = decode(raw.clone()).expect_err("refused");
            assert!(!problem.message.is_empty(), "{raw}");
        }
    }

    #[test]
    fn an_event_serializes_without_an_absent_value() {
        let event = decode(json!({"id": "e", "unit_id": "u", "name": "view_item"})).expect("valid");
        let wire = serde_json::to_value(&event).expect("serializes");
        assert_eq!(
            wire,
            json!({"id": "e", "unit_id": "u", "name": "view_item", "timestamp": "2026-11-23T10:00:00Z"})
        );
        assert_eq!(
            serde_json::from_value::<OutcomeEvent>(wire).expect("reads back"),
            event
        );
    }
}
