//! Validation cases for running many experiments at once: layers, interactions, shipping,
//! guardrail stages.

use super::Case;
use super::many;
use serde_json::json;

pub(super) const CASES: &[Case] = &[
    Case {
        name: "a journey stage marked as a guardrail",
        change: |v| v["guardrail_stages"] = json!(["purchase", "begin_checkout"]),
        expected: &[],
    },
    Case {
        name: "a guardrail stage that is not in the journey",
        change: |v| v["guardrail_stages"] = json!(["purchase", "checkout_error"]),
        expected: &[("guardrail_stages[1]", "unknown")],
    },
    Case {
        name: "a guardrail stage named twice",
        change: |v| v["guardrail_stages"] = json!(["purchase", "purchase"]),
        expected: &[("guardrail_stages[1]", "duplicate")],
    },
    Case {
        name: "a layer taking half its hash space",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0.0, 0.5]}),
        expected: &[],
    },
    Case {
        name: "a layer taking all of it",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0, 1]}),
        expected: &[],
    },
    Case {
        name: "a layer named with spaces and non-ASCII, as GrowthBook namespaces may be",
        change: |v| v["layer"] = json!({"name": "Kasse / Ωmega", "range": [0.0, 0.5]}),
        expected: &[],
    },
    Case {
        name: "a layer with an empty name",
        change: |v| v["layer"] = json!({"name": "", "range": [0.0, 0.5]}),
        expected: &[("layer.name", "invalid")],
    },
    Case {
        name: "a layer name with a control character",
        change: |v| v["layer"] = json!({"name": "check\nout", "range": [0.0, 0.5]}),
        expected: &[("layer.name", "invalid")],
    },
    Case {
        name: "a layer range ending past 1",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0.5, 1.5]}),
        expected: &[("layer.range", "out_of_range")],
    },
    Case {
        name: "a layer range starting below 0",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [-0.1, 0.5]}),
        expected: &[("layer.range", "out_of_range")],
    },
    Case {
        name: "an empty layer range",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0.5, 0.5]}),
        expected: &[("layer.range", "out_of_range")],
    },
    Case {
        name: "a reversed layer range",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0.6, 0.2]}),
        expected: &[("layer.range", "out_of_range")],
    },
    Case {
        name: "two interacting experiments",
        change: |v| v["interacts_with"] = json!(["pdp-gallery", "shipping.threshold"]),
        expected: &[],
    },
    Case {
        name: "six interacting experiments",
        change: |v| v["interacts_with"] = many(6, |i| json!(format!("e{i}"))),
        expected: &[("interacts_with", "too_many")],
    },
    Case {
        name: "an interaction with an unsafe key",
        change: |v| v["interacts_with"] = json!(["pdp gallery"]),
        expected: &[("interacts_with[0]", "invalid")],
    },
    Case {
        name: "an interaction with itself",
        change: |v| v["interacts_with"] = json!(["free-shipping-35"]),
        expected: &[("interacts_with[0]", "invalid")],
    },
    Case {
        name: "the same interaction twice",
        change: |v| v["interacts_with"] = json!(["pdp", "pdp"]),
        expected: &[("interacts_with[1]", "duplicate")],
    },
    Case {
        name: "a declared segment taking an interaction's name",
        change: |v| v["segments"] = json!(["exp:pdp"]),
        expected: &[("segments[0]", "reserved")],
    },
    Case {
        name: "a shipped experiment with its winner",
        change: |v| {
            v["status"] = json!("shipped");
            v["shipped"] = json!({"variant": "threshold_35", "at": "2026-11-23T10:00:00Z"});
        },
        expected: &[],
    },
    Case {
        name: "a shipped experiment without a winner",
        change: |v| v["status"] = json!("shipped"),
        expected: &[("shipped", "required")],
    },
    Case {
        name: "a winner on a running experiment",
        change: |v| {
            v["status"] = json!("running");
            v["shipped"] = json!({"variant": "threshold_35", "at": "2026-11-23T10:00:00Z"});
        },
        expected: &[("shipped", "not_applicable")],
    },
    Case {
        name: "a winner that is not a variant",
        change: |v| {
            v["status"] = json!("shipped");
            v["shipped"] = json!({"variant": "threshold_20", "at": "2026-11-23T10:00:00Z"});
        },
        expected: &[("shipped.variant", "unknown")],
    },
];
