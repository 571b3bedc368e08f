//! Validation cases for the experiment's identity, traffic, variants, journey, value event,
//! targeting and salt.

use super::{Case, many};
use serde_json::{Value, json};

pub(super) const CASES: &[Case] = &[
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
        name: "a currency code",
        change: |v| v["currency"] = json!("EUR"),
        expected: &[],
    },
    Case {
        name: "a lower-case currency",
        change: |v| v["currency"] = json!("eur"),
        expected: &[("currency", "invalid")],
    },
    Case {
        name: "a currency symbol",
        change: |v| v["currency"] = json!("€"),
        expected: &[("currency", "invalid")],
    },
    Case {
        name: "a four-letter currency",
        change: |v| v["currency"] = json!("EURO"),
        expected: &[("currency", "invalid")],
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
];
