//! Validation cases for CUPED covariates (decision 022): only outcomes over every exposed
//! unit take one, `covariates` is keyed by a journey stage or `revenue_per_unit`, and the
//! attribute is a name a unit may carry.

use super::{Case, many};
use serde_json::json;

fn sum_with(attribute: &str) -> serde_json::Value {
    json!({"key": "spend", "kind": "sum", "event": "purchase",
           "covariate": {"attribute": attribute}})
}

pub(super) const CASES: &[Case] = &[
    Case {
        name: "covariates on a conversion, a sum, a count, a stage and revenue",
        change: |v| {
            v["metrics"] = json!([
                {"key": "buyer", "kind": "conversion", "event": "purchase",
                 "covariate": {"attribute": "orders_90d"}},
                {"key": "spend", "kind": "sum", "event": "purchase",
                 "covariate": {"attribute": "revenue_90d"}},
                {"key": "orders", "kind": "count", "event": "purchase",
                 "covariate": {"attribute": "orders_90d"}},
            ]);
            v["covariates"] = json!({
                "purchase": {"attribute": "orders_90d"},
                "revenue_per_unit": {"attribute": "revenue_90d"},
            });
        },
        expected: &[],
    },
    Case {
        name: "a covariate on an nps metric (over answering units only)",
        change: |v| {
            v["metrics"] = json!([{"key": "nps", "kind": "nps", "event": "survey",
                                   "covariate": {"attribute": "orders_90d"}}])
        },
        expected: &[("metrics[0].covariate", "not_applicable")],
    },
    Case {
        name: "a covariate on a mean metric",
        change: |v| {
            v["metrics"] = json!([{"key": "m", "kind": "mean", "event": "e",
                                   "covariate": {"attribute": "orders_90d"}}])
        },
        expected: &[("metrics[0].covariate", "not_applicable")],
    },
    Case {
        name: "an empty covariate attribute",
        change: |v| v["metrics"] = json!([sum_with("  ")]),
        expected: &[("metrics[0].covariate.attribute", "invalid")],
    },
    Case {
        name: "a covariate attribute of 65 characters",
        change: |v| v["metrics"] = json!([sum_with(&"a".repeat(65))]),
        expected: &[("metrics[0].covariate.attribute", "invalid")],
    },
    Case {
        name: "the built-in plugin_version segment as a covariate",
        change: |v| v["metrics"] = json!([sum_with("plugin_version")]),
        expected: &[("metrics[0].covariate.attribute", "invalid")],
    },
    Case {
        name: "an interaction attribute as a covariate",
        change: |v| v["covariates"] = json!({"purchase": {"attribute": "exp:other"}}),
        expected: &[("covariates.purchase.attribute", "invalid")],
    },
    Case {
        name: "a declared metric's covariate under covariates",
        change: |v| {
            v["metrics"] = json!([{"key": "spend", "kind": "sum", "event": "purchase"}]);
            v["covariates"] = json!({"spend": {"attribute": "revenue_90d"}});
        },
        expected: &[("covariates.spend", "misplaced")],
    },
    Case {
        name: "time_to_conversion takes no covariate",
        change: |v| v["covariates"] = json!({"time_to_conversion": {"attribute": "orders_90d"}}),
        expected: &[("covariates.time_to_conversion", "not_applicable")],
    },
    Case {
        name: "revenue_per_unit without a value_event",
        change: |v| {
            v.as_object_mut().expect("object").remove("value_event");
            v["covariates"] = json!({"revenue_per_unit": {"attribute": "revenue_90d"}});
        },
        expected: &[("covariates.revenue_per_unit", "unknown")],
    },
    Case {
        name: "a covariate for something that is neither stage nor built-in metric",
        change: |v| v["covariates"] = json!({"refund": {"attribute": "orders_90d"}}),
        expected: &[("covariates.refund", "unknown")],
    },
    Case {
        name: "eleven distinct covariate attributes",
        change: |v| {
            v["metrics"] = many(11, |i| {
                json!({"key": format!("m{i}"), "kind": "count", "event": "purchase",
                       "covariate": {"attribute": format!("a{i}")}})
            })
        },
        expected: &[("covariates", "too_many")],
    },
    Case {
        name: "ten distinct covariate attributes over eleven metrics",
        change: |v| {
            v["metrics"] = many(11, |i| {
                json!({"key": format!("m{i}"), "kind": "count", "event": "purchase",
                       "covariate": {"attribute": format!("a{}", i % 10)}})
            })
        },
        expected: &[],
    },
];
