//! `Experiment::reshuffle_conflict`: what a running experiment may and may not change through
//! a new definition (weights, traffic and salt change only through a new phase).

use super::{base_json, experiment, spec_from};
use serde_json::{Value, json};
use touchstone_model::{Experiment, Status};

struct Case {
    name: &'static str,
    change: fn(&mut Value),
    /// The field the refusal names and whether a new phase can make the change, or `None`
    /// when the change is allowed.
    refused_for: Option<(&'static str, bool)>,
}

fn running(change: impl Fn(&mut Value)) -> Experiment {
    let mut value = base_json();
    value["status"] = json!("running");
    value["traffic"] = json!(0.5);
    change(&mut value);
    experiment(spec_from(value))
}

fn check(case: &Case) {
    let current = running(|_| {});
    let next = running(case.change);
    let conflict = current.reshuffle_conflict(&next);
    match (case.refused_for, &conflict) {
        (None, None) => {}
        (Some((field, new_phase)), Some(refusal)) => {
            assert_eq!(refusal.field, field, "case `{}`", case.name);
            assert_eq!(refusal.new_phase, new_phase, "case `{}`", case.name);
            assert!(
                refusal.message.contains("exposed units"),
                "case `{}` says why: {}",
                case.name,
                refusal.message
            );
        }
        _ => panic!(
            "case `{}`: expected {:?}, got {conflict:?}",
            case.name, case.refused_for
        ),
    }
    // A stopped or draft experiment has no live assignments to protect.
    for status in [Status::Draft, Status::Stopped] {
        assert_eq!(
            current.with_status(status).reshuffle_conflict(&next),
            None,
            "case `{}`",
            case.name
        );
    }
}

const CASES: &[Case] = &[
    Case {
        name: "nothing changes",
        change: |_| {},
        refused_for: None,
    },
    Case {
        name: "traffic grows",
        change: |v| v["traffic"] = json!(0.9),
        refused_for: Some(("traffic", true)),
    },
    Case {
        name: "traffic grows to everyone",
        change: |v| v["traffic"] = json!(1.0),
        refused_for: Some(("traffic", true)),
    },
    Case {
        name: "traffic shrinks",
        change: |v| v["traffic"] = json!(0.4),
        refused_for: Some(("traffic", true)),
    },
    Case {
        name: "a payload changes",
        change: |v| v["variants"][1]["payload"] = json!({"threshold": 30}),
        refused_for: None,
    },
    Case {
        name: "the journey changes",
        change: |v| v["journey"] = json!(["purchase"]),
        refused_for: None,
    },
    Case {
        name: "targeting is added",
        change: |v| {
            v["targeting"] = json!([{"attribute": "country", "op": "equals", "value": "DE"}])
        },
        refused_for: None,
    },
    Case {
        name: "the control changes",
        change: |v| v["control"] = json!("threshold_35"),
        refused_for: None,
    },
    Case {
        name: "weights scale but keep their ratio",
        change: |v| {
            v["variants"][0]["weight"] = json!(1);
            v["variants"][1]["weight"] = json!(1);
        },
        refused_for: None,
    },
    Case {
        name: "weights change ratio",
        change: |v| v["variants"][1]["weight"] = json!(0.6),
        refused_for: Some(("variants[1].weight", true)),
    },
    Case {
        name: "a variant is renamed",
        change: |v| v["variants"][1]["key"] = json!("threshold_30"),
        refused_for: Some(("variants", false)),
    },
    Case {
        name: "a variant is added",
        change: |v| {
            v["variants"]
                .as_array_mut()
                .expect("array")
                .push(json!({"key": "threshold_25", "weight": 0.5}))
        },
        refused_for: Some(("variants", false)),
    },
    Case {
        name: "variants swap places",
        change: |v| v["variants"].as_array_mut().expect("array").reverse(),
        refused_for: Some(("variants", false)),
    },
    Case {
        name: "the salt is set to something other than the key",
        change: |v| v["salt"] = json!("new-salt"),
        refused_for: Some(("salt", true)),
    },
    Case {
        name: "the salt is set to the key it defaulted to",
        change: |v| v["salt"] = json!("free-shipping-35"),
        refused_for: None,
    },
    Case {
        name: "a layer is added",
        change: |v| v["layer"] = json!({"name": "checkout", "range": [0.0, 0.5]}),
        refused_for: Some(("layer", false)),
    },
];

#[test]
fn a_running_experiment_refuses_only_changes_that_reshuffle_units() {
    CASES.iter().for_each(check);
}

/// A case: its name, the change, and the field refused (`None`: allowed).
type CovariateCase = (&'static str, fn(&mut Value), Option<&'static str>);

/// Running with `orders_90d` on the stage `purchase` and a metric `buyer`, `revenue_90d` on
/// `revenue_per_unit`, then `change`.
fn running_with_covariates(change: impl Fn(&mut Value)) -> Experiment {
    running(|v| {
        v["metrics"] = json!([
            {"key": "buyer", "kind": "conversion", "event": "purchase",
             "covariate": {"attribute": "orders_90d"}},
            {"key": "orders", "kind": "count", "event": "purchase"},
        ]);
        v["covariates"] = json!({
            "purchase": {"attribute": "orders_90d"},
            "revenue_per_unit": {"attribute": "revenue_90d"},
        });
        change(v);
    })
}

#[test]
fn a_running_experiment_keeps_its_covariates_within_a_phase() {
    let cases: [CovariateCase; 9] = [
        ("nothing changes", |_| {}, None),
        (
            "a metric's covariate changes",
            |v| v["metrics"][0]["covariate"] = json!({"attribute": "revenue_90d"}),
            Some("metrics[0].covariate"),
        ),
        (
            "a metric's covariate is removed",
            |v| {
                v["metrics"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove("covariate");
            },
            Some("metrics[0].covariate"),
        ),
        (
            "a kept metric gains a covariate",
            |v| v["metrics"][1]["covariate"] = json!({"attribute": "orders_90d"}),
            Some("metrics[1].covariate"),
        ),
        (
            "a stage's covariate is removed",
            |v| v["covariates"] = json!({"revenue_per_unit": {"attribute": "revenue_90d"}}),
            Some("covariates.purchase"),
        ),
        (
            "the revenue metric's covariate changes",
            |v| v["covariates"]["revenue_per_unit"] = json!({"attribute": "orders_90d"}),
            Some("covariates.revenue_per_unit"),
        ),
        (
            "a new metric adjusts for an attribute already kept",
            |v| {
                v["metrics"]
                    .as_array_mut()
                    .expect("array")
                    .push(json!({"key": "spend", "kind": "sum", "event": "purchase",
                           "covariate": {"attribute": "revenue_90d"}}))
            },
            None,
        ),
        (
            "a new metric adjusts for an attribute not kept at exposure yet",
            |v| {
                v["metrics"]
                    .as_array_mut()
                    .expect("array")
                    .push(json!({"key": "spend", "kind": "sum", "event": "purchase",
                           "covariate": {"attribute": "visits_30d"}}))
            },
            None,
        ),
        (
            "a metric with a covariate is removed",
            |v| {
                v["metrics"].as_array_mut().expect("array").remove(0);
            },
            None,
        ),
    ];
    let current = running_with_covariates(|_| {});
    for (name, change, refused) in cases {
        let next = running_with_covariates(change);
        let conflict = current.reshuffle_conflict(&next);
        assert_eq!(
            conflict.as_ref().map(|c| c.field.as_str()),
            refused,
            "case `{name}`: {conflict:?}"
        );
        if let Some(conflict) = conflict {
            assert!(conflict.new_phase, "case `{name}`");
            assert!(conflict.message.contains("new_phase"), "case `{name}`");
        }
        // A stopped experiment may change them: its next start decides the phase.
        assert_eq!(
            current
                .with_status(Status::Stopped)
                .reshuffle_conflict(&next),
            None,
            "case `{name}`"
        );
    }
}
