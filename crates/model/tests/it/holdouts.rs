//! Holdouts: membership replayed against GrowthBook's own JS SDK
//! (`tests/vectors/growthbook_holdouts.json`, written by
//! `tests/growthbook/make-holdout-vectors.js`), the synthetic experiment it is analysed as,
//! and every validation rule with its field.

use serde::Deserialize;
use serde_json::{Value, json};
use touchstone_model::holdout::{HOLDOUT_VARIANT, PROGRAM_VARIANT, experiment_key};
use touchstone_model::{Holdout, HoldoutSpec, HoldoutStatus, Status, assignment};

const VECTORS: &str = include_str!("../vectors/growthbook_holdouts.json");

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<HoldoutCase>,
}

#[derive(Deserialize)]
struct HoldoutCase {
    key: String,
    share: f64,
    id: String,
    bucket: f64,
    variation: Option<usize>,
}

fn base_json() -> Value {
    json!({
        "key": "program-q4",
        "share": 0.05,
        "touchpoints": ["*"],
        "journey": ["add_to_cart", "purchase"],
        "value_event": "purchase",
        "metrics": [{"key": "orders", "kind": "count", "event": "purchase"}]
    })
}

fn holdout_from(value: Value) -> Result<Holdout, touchstone_model::ValidationErrors> {
    let spec: HoldoutSpec = serde_json::from_value(value).expect("test holdout deserializes");
    Holdout::new(spec)
}

fn holdout(key: &str, share: f64) -> Holdout {
    let mut value = base_json();
    value["key"] = json!(key);
    value["share"] = json!(share);
    holdout_from(value).expect("valid holdout")
}

#[test]
fn membership_is_growthbooks_variation_zero_and_its_bucket_below_share() {
    let vectors: Vectors = serde_json::from_str(VECTORS).expect("growthbook_holdouts.json parses");
    assert_eq!(vectors.cases.len(), 124, "the file lost cases");
    for case in &vectors.cases {
        let holdout = holdout(&case.key, case.share);
        // GrowthBook's bucket is Touchstone's v2 hash with seed = the holdout key...
        assert_eq!(
            assignment::hash_v2(&case.key, &case.id),
            case.bucket,
            "{case:?}",
            case = (&case.key, &case.id)
        );
        // ...and its variation 0 is exactly the held-out units: bucket < share.
        let held_out = case.variation == Some(0);
        assert_eq!(
            held_out,
            case.bucket < case.share,
            "{} {}",
            case.key,
            case.id
        );
        assert_eq!(
            holdout.holds_out(&case.id),
            held_out,
            "{} {}",
            case.key,
            case.id
        );
        assert_eq!(
            holdout.experiment().assign(&case.id),
            case.variation,
            "{} {}",
            case.key,
            case.id
        );
    }
    // Both sides of every boundary are pinned (a bucket equal to the share is in the program).
    let at_boundary = |held_out: bool| {
        vectors
            .cases
            .iter()
            .filter(|case| case.id.starts_with("edge-"))
            .filter(|case| (case.variation == Some(0)) == held_out)
            .count()
    };
    assert_eq!((at_boundary(true), at_boundary(false)), (4, 4));
}

#[test]
fn the_synthetic_experiment_is_holdout_against_program_in_its_own_namespace() {
    let holdout = holdout("program-q4", 0.2);
    let experiment = holdout.experiment();
    assert_eq!(experiment.key(), "holdout:program-q4");
    assert_eq!(experiment.key(), experiment_key("program-q4"));
    // The key cannot be an experiment's: `:` is outside their alphabet.
    assert!(touchstone_model::validation::check_key(experiment.key()).is_some());
    assert_eq!(experiment.salt(), "program-q4");
    assert_eq!(experiment.weights(), &[0.2, 0.8]);
    assert_eq!(experiment.control().key, HOLDOUT_VARIANT);
    assert_eq!(experiment.variants()[1].key, PROGRAM_VARIANT);
    assert_eq!(experiment.journey(), ["add_to_cart", "purchase"]);
    let metrics: Vec<&str> = experiment
        .metrics()
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(
        metrics,
        ["orders", "revenue_per_unit", "time_to_conversion"]
    );
    assert!(experiment.is_running());
    // Every unit is in one group, and the synthetic experiment agrees with `holds_out`.
    let held: usize = (0..20_000)
        .map(|index| format!("unit-{index}"))
        .filter(|unit| {
            let variant = experiment
                .assign(unit)
                .expect("every unit is in the holdout's scope");
            assert_eq!(variant == 0, holdout.holds_out(unit), "{unit}");
            variant == 0
        })
        .count();
    // Binomial(20 000, 0.2): sd ≈ 56.6; ±5 sd.
    assert!((3717..4283).contains(&held), "{held}");
}

#[test]
fn stopping_stops_the_synthetic_experiment_and_touchpoints_scope_it() {
    let running = holdout("program-q4", 0.05);
    assert!(running.covers("pdp.gallery") && running.covers("checkout.shipping"));
    let stopped = running.with_status(HoldoutStatus::Stopped);
    assert!(!stopped.is_running());
    assert_eq!(stopped.experiment().status(), Status::Stopped);
    assert_eq!(stopped.with_status(HoldoutStatus::Running), running);

    let mut value = base_json();
    value["touchpoints"] = json!(["pdp.gallery", "checkout.shipping"]);
    value["status"] = json!("stopped");
    let scoped = holdout_from(value).expect("valid");
    assert!(scoped.covers("pdp.gallery") && !scoped.covers("pdp.reviews"));
    assert_eq!(scoped.experiment().status(), Status::Stopped);
}

#[test]
fn only_a_new_share_conflicts_with_the_stored_holdout() {
    let stored = holdout("program-q4", 0.05);
    let mut value = base_json();
    value["journey"] = json!(["purchase"]);
    value["touchpoints"] = json!(["pdp.gallery"]);
    assert_eq!(
        stored.reshuffle_conflict(&holdout_from(value).expect("valid")),
        None
    );
    let conflict = stored.reshuffle_conflict(&holdout("program-q4", 0.1));
    assert!(conflict.expect("a conflict").contains("share"));
}

struct Case {
    name: &'static str,
    change: fn(&mut Value),
    expected: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        name: "valid",
        change: |_| {},
        expected: &[],
    },
    Case {
        name: "bad key",
        change: |v| v["key"] = json!("q4 holdout"),
        expected: &[("key", "invalid")],
    },
    Case {
        name: "zero share",
        change: |v| v["share"] = json!(0.0),
        expected: &[("share", "out_of_range")],
    },
    Case {
        name: "negative share",
        change: |v| v["share"] = json!(-0.1),
        expected: &[("share", "out_of_range")],
    },
    Case {
        name: "share past half",
        change: |v| v["share"] = json!(0.51),
        expected: &[("share", "out_of_range")],
    },
    Case {
        name: "share of half",
        change: |v| v["share"] = json!(0.5),
        expected: &[],
    },
    Case {
        name: "no touchpoints",
        change: |v| v["touchpoints"] = json!([]),
        expected: &[("touchpoints", "required")],
    },
    Case {
        name: "star with others",
        change: |v| v["touchpoints"] = json!(["*", "pdp.gallery"]),
        expected: &[("touchpoints", "invalid")],
    },
    Case {
        name: "blank touchpoint",
        change: |v| v["touchpoints"] = json!(["pdp.gallery", " "]),
        expected: &[("touchpoints[1]", "invalid")],
    },
    Case {
        name: "duplicate touchpoint",
        change: |v| v["touchpoints"] = json!(["a", "b", "a"]),
        expected: &[("touchpoints[2]", "duplicate")],
    },
    Case {
        name: "empty journey",
        change: |v| v["journey"] = json!([]),
        expected: &[("journey", "required")],
    },
    Case {
        name: "duplicate stage",
        change: |v| v["journey"] = json!(["purchase", "purchase"]),
        expected: &[("journey[1]", "duplicate")],
    },
    Case {
        name: "bad metric",
        change: |v| v["metrics"][0]["event"] = json!("no spaces"),
        expected: &[("metrics[0].event", "invalid")],
    },
    Case {
        name: "reserved metric",
        change: |v| v["metrics"][0]["key"] = json!("revenue_per_unit"),
        expected: &[("metrics[0].key", "reserved")],
    },
    Case {
        name: "bad window",
        change: |v| v["conversion_window_hours"] = json!(0),
        expected: &[
            ("conversion_window_hours", "out_of_range"),
            ("metrics[0].window_end_hours", "out_of_range"),
        ],
    },
    Case {
        name: "reserved segment",
        change: |v| v["segments"] = json!(["plugin_version"]),
        expected: &[("segments[0]", "reserved")],
    },
    Case {
        name: "everything at once",
        change: |v| {
            v["key"] = json!("");
            v["share"] = json!(0.9);
            v["touchpoints"] = json!([]);
            v["journey"] = json!([]);
        },
        expected: &[
            ("key", "invalid"),
            ("share", "out_of_range"),
            ("touchpoints", "required"),
            ("journey", "required"),
        ],
    },
];

#[test]
fn every_rule_reports_its_field_and_code() {
    for case in CASES {
        let mut value = base_json();
        (case.change)(&mut value);
        let actual: Vec<(String, &str)> = match holdout_from(value) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .errors()
                .iter()
                .map(|error| {
                    assert!(!error.message.is_empty(), "{}", case.name);
                    (error.field.clone(), error.code)
                })
                .collect(),
        };
        let expected: Vec<(String, &str)> = case
            .expected
            .iter()
            .map(|(field, code)| ((*field).to_owned(), *code))
            .collect();
        assert_eq!(actual, expected, "case `{}`", case.name);
    }
}

#[test]
fn a_status_other_than_running_or_stopped_and_unknown_fields_do_not_decode() {
    for change in [json!({"status": "draft"}), json!({"variants": []})] {
        let mut value = base_json();
        value
            .as_object_mut()
            .expect("object")
            .extend(change.as_object().expect("object").clone());
        assert!(serde_json::from_value::<HoldoutSpec>(value).is_err());
    }
    let spec: HoldoutSpec = serde_json::from_value(base_json()).expect("decodes");
    assert_eq!(spec.status, HoldoutStatus::Running, "running by default");
}
