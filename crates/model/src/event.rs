//! Outcome events: something a unit did (`add_to_cart`, `purchase` with a value). Decoded one
//! by one from JSON so that one bad event in a batch is reported by its index and field while
//! the others are still recorded.

use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Longest accepted id, unit id or event name, in bytes.
pub const MAX_TEXT_LEN: usize = 256;

/// Largest magnitude of an event value or a numeric attribute. Counters keep sums of squares,
/// so a value must stay finite when squared and summed over many units: 1e15 squared is 1e30,
/// far from f64's 1.8e308, and still above any revenue in any currency's smallest unit.
pub const MAX_ABS_NUMBER: f64 = 1e15;

/// Whether `value` is finite and within ±[`MAX_ABS_NUMBER`].
pub fn is_bounded_number(value: f64) -> bool {
    value.is_finite() && value.abs() <= MAX_ABS_NUMBER
}

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
                Some(value) if is_bounded_number(value) => Some(value),
                _ => {
                    return Err(EventProblem::new(
                        "value",
                        format!("must be a number from -{MAX_ABS_NUMBER:e} to {MAX_ABS_NUMBER:e}"),
                    ));
                }
            },
            Some(_) => return Err(EventProblem::new("value", "must be a number")),
        };
        let timestamp = match object.get("timestamp") {
            None | Some(Value::Null) => received_at,
            Some(raw) => Timestamp::deserialize(raw)
                .map_err(|error| EventProblem::new("timestamp", error.to_string()))?,
        };
        check_not_ahead(timestamp, received_at, max_future_skew_ms)?;
        Ok(OutcomeEvent {
            id,
            unit_id,
            name,
            value,
            timestamp,
        })
    }

    /// Decodes one event of a batch from its raw JSON text, with exactly the rules and
    /// messages of [`OutcomeEvent::from_json`]. An event as a well-behaved client sends it is
    /// decoded in one typed pass (strings borrowed from the request); anything that pass cannot
    /// take — an unknown or repeated field, a wrong type, a missing or empty text — is decoded
    /// again into a `Value` by `from_json`, which names the field.
    pub fn from_raw(
        raw: &RawValue,
        received_at: Timestamp,
        max_future_skew_ms: i64,
    ) -> Result<OutcomeEvent, EventProblem> {
        if let Some(event) = Self::from_wire(raw.get(), received_at) {
            check_not_ahead(event.timestamp, received_at, max_future_skew_ms)?;
            return Ok(event);
        }
        let value: Value = serde_json::from_str(raw.get())
            .map_err(|error| EventProblem::new("event", error.to_string()))?;
        Self::from_json(&value, received_at, max_future_skew_ms)
    }

    /// The typed pass of `from_raw`: `None` whenever the event needs `from_json`'s checks.
    fn from_wire(raw: &str, received_at: Timestamp) -> Option<OutcomeEvent> {
        let wire: WireEvent<'_> = serde_json::from_str(raw).ok()?;
        if wire
            .attributes
            .is_some_and(|attributes| !attributes.get().starts_with('{'))
        {
            return None;
        }
        let value = match wire.value {
            Some(value) if !is_bounded_number(value) => return None,
            value => value,
        };
        let timestamp = match wire.timestamp {
            None => received_at,
            Some(raw) => serde_json::from_str(raw.get()).ok()?,
        };
        Some(OutcomeEvent {
            id: valid_text(wire.id)?,
            unit_id: valid_text(wire.unit_id)?,
            name: valid_text(wire.name)?,
            value,
            timestamp,
        })
    }
}

/// An event as sent, for `from_wire`. A field that is absent, `null` or of another type makes
/// the pass fail, and `from_json` reports it; `null` for `value`, `timestamp` and `attributes`
/// means absent, as there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEvent<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    unit_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default, borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(default, borrow)]
    attributes: Option<&'a RawValue>,
}

/// A text `required_text` would accept, owned.
fn valid_text(text: Cow<'_, str>) -> Option<String> {
    (!text.is_empty() && text.len() <= MAX_TEXT_LEN).then(|| text.into_owned())
}

/// Timestamps more than `max_future_skew_ms` ahead of `received_at` are refused.
fn check_not_ahead(
    timestamp: Timestamp,
    received_at: Timestamp,
    max_future_skew_ms: i64,
) -> Result<(), EventProblem> {
    if timestamp.as_millis() > received_at.as_millis().saturating_add(max_future_skew_ms) {
        return Err(EventProblem::new(
            "timestamp",
            "lies in the future; check the client clock",
        ));
    }
    Ok(())
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
    /// `from_raw` must answer exactly what `from_json` answers for the same text — the event
    /// or the field and message — whether its typed pass takes the event or hands it over.
    #[test]
    fn the_raw_decoder_answers_what_the_value_decoder_answers() {
        let ahead = NOW.as_millis() + 3_600_000;
        let texts = [
            r#"{"id":"e1","unit_id":"u1","name":"purchase","value":42.5,"timestamp":"2026-11-23T10:15:00Z"}"#.to_owned(),
            r#"{"id":"e1","unit_id":"u1","name":"view"}"#.to_owned(),
            r#"{"id":"e1","unit_id":"u1","name":"view","value":null,"timestamp":null,"attributes":null}"#.to_owned(),
            r#"{"name":"n","unit_id":"u","id":"e","value":3,"timestamp":1795427000000,"attributes":{"currency":"EUR","n":[1,{"a":2}]}}"#.to_owned(),
            r#" { "id" : "e\"1\\\u00e9\ud83d\ude00" , "unit_id":"u\n2", "name":"purchase", "value": -1e3 } "#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","value":1e15,"timestamp":1.7e12}"#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","value":1.5e15}"#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","value":"9"}"#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","timestamp":"yesterday"}"#.to_owned(),
            format!(r#"{{"id":"e","unit_id":"u","name":"n","timestamp":{ahead}}}"#),
            r#"{"id":"e","unit_id":"u","name":"n","attributes":[1]}"#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","attributes":"x"}"#.to_owned(),
            r#"{"id":"e","unit_id":"u","name":"n","colour":"red"}"#.to_owned(),
            r#"{"id":"e","id":"f","unit_id":"u","name":"n"}"#.to_owned(),
            r#"{"unit_id":"u","name":"n"}"#.to_owned(),
            r#"{"id":"","unit_id":"u","name":"n"}"#.to_owned(),
            r#"{"id":null,"unit_id":"u","name":"n"}"#.to_owned(),
            r#"{"id":"e","unit_id":7,"name":"n"}"#.to_owned(),
            format!(r#"{{"id":"{}","unit_id":"u","name":"n"}}"#, "x".repeat(MAX_TEXT_LEN)),
            format!(r#"{{"id":"{}","unit_id":"u","name":"n"}}"#, "x".repeat(MAX_TEXT_LEN + 1)),
            "[1,2]".to_owned(),
            r#""text""#.to_owned(),
            "null".to_owned(),
        ];
        for text in texts {
            let raw: Box<RawValue> = serde_json::from_str(&text).expect("valid JSON");
            let value: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(
                OutcomeEvent::from_raw(&raw, NOW, 300_000),
                OutcomeEvent::from_json(&value, NOW, 300_000),
                "{text}"
            );
        }
    }

    /// The typed pass is what makes a batch cheap: it must take the events clients send.
    #[test]
    fn the_typed_pass_takes_ordinary_events() {
        for text in [
            r#"{"id":"e1","unit_id":"u1","name":"purchase","value":42.5,"timestamp":1795427000000}"#,
            r#"{"id":"e1","unit_id":"u1","name":"view","timestamp":"2026-11-23T10:15:00Z","attributes":{"currency":"EUR"}}"#,
            r#"{"id":"e\u00e9","unit_id":"u1","name":"view","value":null}"#,
        ] {
            assert!(OutcomeEvent::from_wire(text, NOW).is_some(), "{text}");
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
    fn values_beyond_the_bound_are_refused_and_the_bound_itself_accepted() {
        let with = |value: serde_json::Value| {
            decode(json!({"id": "e", "unit_id": "u", "name": "purchase", "value": value}))
        };
        assert_eq!(with(json!(1e15)).expect("at the bound").value, Some(1e15));
        assert_eq!(with(json!(-1e15)).expect("at the bound").value, Some(-1e15));
        for beyond in [
            json!(1e200),
            json!(-1e200),
            json!(1.0000001e15),
            json!(u64::MAX),
        ] {
            let problem = with(beyond.clone()).expect_err("beyond the bound");
            assert_eq!(problem.field, "value", "{beyond}");
            assert!(problem.message.contains("1e15"), "{}", problem.message);
        }
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
