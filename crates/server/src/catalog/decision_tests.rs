//! Unit tests of [`Catalog::decide`] and [`Catalog::decide_experiment`]: each rule against
//! the model's own pure functions, and the two deciders against each other, over many units.

use super::*;
use serde_json::json;
use touchstone_model::{HoldoutSpec, HoldoutStatus, Status, Timestamp};
use touchstone_store::Definitions;

const TOUCHPOINT: &str = "checkout.shipping";

fn experiment(extra: Value) -> Experiment {
    let mut spec = json!({
        "touchpoint": TOUCHPOINT, "status": "running", "journey": ["purchase"],
        "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
    });
    for (field, value) in extra.as_object().expect("fields") {
        spec[field] = value.clone();
    }
    Experiment::new(serde_json::from_value(spec).expect("spec")).expect("valid")
}

fn holdout(key: &str, share: f64, touchpoints: &[&str]) -> Holdout {
    let spec: HoldoutSpec = serde_json::from_value(json!({
        "key": key, "share": share, "touchpoints": touchpoints, "journey": ["purchase"],
    }))
    .expect("spec");
    Holdout::new(spec).expect("valid")
}

fn german() -> Map<String, Value> {
    json!({"country": "DE"})
        .as_object()
        .expect("object")
        .clone()
}

/// A touchpoint with every kind of experiment: plain, targeted, half traffic, in a layer,
/// shipped, draft and stopped; one at another touchpoint; two holdouts over it and one
/// elsewhere.
fn catalog() -> Catalog {
    let shipped = experiment(json!({"key": "shipped"}))
        .shipped_with(1, Timestamp::from_millis(0))
        .expect("ships");
    Catalog::new(Definitions {
        version: 1,
        experiments: vec![
            experiment(json!({"key": "plain"})),
            experiment(json!({
                "key": "targeted",
                "targeting": [{"attribute": "country", "op": "equals", "value": "DE"}],
            })),
            experiment(json!({"key": "half", "traffic": 0.5})),
            experiment(json!({"key": "layered", "layer": {"name": "l", "range": [0.2, 0.6]}})),
            shipped,
            experiment(json!({"key": "draft", "status": "draft"})),
            experiment(json!({"key": "stopped"})).with_status(Status::Stopped),
            experiment(json!({"key": "elsewhere", "touchpoint": "pdp.gallery"})),
        ],
        holdouts: vec![
            holdout("b-small", 0.1, &[TOUCHPOINT]),
            holdout("a-everywhere", 0.2, &["*"]),
            holdout("gallery", 0.5, &["pdp.gallery"]),
            holdout("off", 0.5, &["*"]).with_status(HoldoutStatus::Stopped),
        ],
    })
}

fn units() -> impl Iterator<Item = String> {
    (0..2000).map(|index| format!("unit-{index}"))
}

#[test]
fn every_holdout_in_scope_is_listed_with_the_group_its_own_experiment_gives() {
    let catalog = catalog();
    for unit in units() {
        let decision = catalog.decide(TOUCHPOINT, &unit, &Map::new());
        let keys: Vec<&str> = decision.holdouts.iter().map(|g| g.holdout.key()).collect();
        assert_eq!(
            keys,
            ["a-everywhere", "b-small"],
            "running, covering, by key"
        );
        for group in &decision.holdouts {
            assert_eq!(group.holds_out(), group.holdout.holds_out(&unit), "{unit}");
            assert_eq!(
                Some(group.variant),
                group.holdout.experiment().assign(&unit),
                "the exposure's variant is the synthetic experiment's"
            );
        }
    }
}

#[test]
fn a_held_out_unit_gets_no_experiment_and_no_winner() {
    let catalog = catalog();
    let (mut held, mut by_second) = (0, 0);
    for unit in units() {
        let decision = catalog.decide(TOUCHPOINT, &unit, &german());
        let expected = ["a-everywhere", "b-small"]
            .into_iter()
            .find(|key| catalog.holdout(key).is_some_and(|h| h.holds_out(&unit)));
        assert_eq!(decision.held_out_by.map(|h| h.key()), expected, "{unit}");
        if expected.is_some() {
            held += 1;
            by_second += usize::from(expected == Some("b-small"));
            assert!(decision.candidates.is_empty() && decision.shipped.is_empty());
            assert_eq!(decision.holdouts.len(), 2, "still exposed to both");
        }
    }
    assert!(
        held > 0 && by_second > 0,
        "both holdouts hold some unit out"
    );
}

#[test]
fn candidates_are_the_targeted_running_experiments_with_their_one_hash() {
    let catalog = catalog();
    let (mut outside_traffic, mut outside_layer) = (0, 0);
    for unit in units() {
        for (attributes, targeted) in [(Map::new(), false), (german(), true)] {
            let decision = catalog.decide(TOUCHPOINT, &unit, &attributes);
            if decision.held_out_by.is_some() {
                continue;
            }
            let keys: Vec<&str> = decision
                .candidates
                .iter()
                .map(|c| c.experiment.key())
                .collect();
            let expected: &[&str] = if targeted {
                &["half", "layered", "plain", "targeted"]
            } else {
                &["half", "layered", "plain"]
            };
            assert_eq!(keys, expected);
            for candidate in &decision.candidates {
                assert_eq!(candidate.variant, candidate.experiment.assign(&unit));
            }
            let variant_of = |key| {
                decision
                    .candidates
                    .iter()
                    .find(|c| c.experiment.key() == key)
                    .and_then(|c| c.variant)
            };
            outside_traffic += usize::from(variant_of("half").is_none());
            outside_layer += usize::from(variant_of("layered").is_none());
            let assigned: Vec<&str> = decision.assigned().map(|(e, _)| e.key()).collect();
            let with_variant: Vec<&str> = decision
                .candidates
                .iter()
                .filter(|c| c.variant.is_some())
                .map(|c| c.experiment.key())
                .collect();
            assert_eq!(assigned, with_variant);
            let winners: Vec<(&str, usize)> = decision
                .shipped
                .iter()
                .map(|w| (w.experiment.key(), w.variant))
                .collect();
            assert_eq!(winners, [("shipped", 1)], "whatever the bucket");
        }
    }
    assert!(outside_traffic > 0 && outside_layer > 0);
}

#[test]
fn an_unknown_touchpoint_decides_nothing_but_global_holdouts() {
    let catalog = catalog();
    let decision = catalog.decide("nowhere", "unit-1", &german());
    assert!(decision.candidates.is_empty() && decision.shipped.is_empty());
    let keys: Vec<&str> = decision.holdouts.iter().map(|g| g.holdout.key()).collect();
    assert_eq!(keys, ["a-everywhere"]);
}

#[test]
fn one_experiment_is_decided_as_its_touchpoint_decides_it() {
    let catalog = catalog();
    let keys = [
        "plain",
        "targeted",
        "half",
        "layered",
        "shipped",
        "draft",
        "stopped",
        "elsewhere",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for unit in units() {
        for attributes in [Map::new(), german()] {
            for key in keys {
                let placement = catalog
                    .decide_experiment(key, &unit, &attributes)
                    .expect("known");
                let touchpoint = catalog.get(key).expect("known").touchpoint();
                let decision = catalog.decide(touchpoint, &unit, &attributes);
                let expected = if let Some(holdout) = decision.held_out_by {
                    if matches!(key, "draft" | "stopped") {
                        Placement::NotRunning
                    } else {
                        Placement::HeldOut(holdout)
                    }
                } else if let Some(candidate) = decision
                    .candidates
                    .iter()
                    .find(|c| c.experiment.key() == key)
                {
                    candidate
                        .variant
                        .map_or(Placement::NotInTraffic, Placement::Variant)
                } else if let Some(winner) =
                    decision.shipped.iter().find(|w| w.experiment.key() == key)
                {
                    Placement::Shipped(winner.variant)
                } else if matches!(key, "draft" | "stopped") {
                    Placement::NotRunning
                } else {
                    Placement::NotTargeted
                };
                assert_eq!(placement, expected, "{key} {unit}");
                seen.insert(
                    format!("{placement:?}")
                        .split('(')
                        .next()
                        .map(str::to_owned),
                );
            }
        }
    }
    assert_eq!(seen.len(), 6, "every kind of placement occurred: {seen:?}");
    assert!(
        catalog
            .decide_experiment("nope", "unit-1", &Map::new())
            .is_none()
    );
    assert_eq!(
        catalog
            .decide_experiment("plain", "unit-1", &Map::new())
            .and_then(|p| p.running_variant()),
        catalog
            .get("plain")
            .and_then(|e| e.assign("unit-1"))
            .filter(|_| catalog
                .decide(TOUCHPOINT, "unit-1", &Map::new())
                .held_out_by
                .is_none())
    );
}
