//! Validation cases for declared metrics, segments and the statistics settings.

use super::{Case, many, metric};
use serde_json::json;

pub(super) const CASES: &[Case] = &[
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
        // Issue 17: the allowed range is [1e-10, 0.5], inclusive.
        name: "alpha above one half",
        change: |v| v["alpha"] = json!(0.51),
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
