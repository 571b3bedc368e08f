//! Phases: the next phase's split and fresh salt, the history that keeps each earlier phase's
//! split, the view of an earlier phase, and the rules a definition's phase fields follow.

use super::{base_experiment, base_json, spec_from};
use serde_json::json;
use touchstone_model::{Experiment, MAX_PHASES, PhaseChange, Timestamp, ValidationErrors};

const STARTED: i64 = 1_795_400_000_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(STARTED + offset_ms)
}

fn weights(change: &[f64]) -> PhaseChange {
    PhaseChange {
        weights: Some(change.to_vec()),
        ..PhaseChange::default()
    }
}

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.errors().iter().map(|e| e.field.as_str()).collect()
}

fn phase_two() -> Experiment {
    base_experiment()
        .next_phase(weights(&[0.8, 0.2]), at(0))
        .expect("a valid change")
}

#[test]
fn a_definition_without_phase_fields_is_in_its_first_phase() {
    let experiment = base_experiment();
    assert_eq!(experiment.phase(), 1);
    let phases = experiment.phases();
    assert_eq!(phases.len(), 1);
    assert_eq!(phases[0].number, 1);
    assert_eq!(phases[0].started_at, None);
    assert_eq!(phases[0].weights, [0.5, 0.5]);
    assert_eq!(phases[0].salt, "free-shipping-35");
    // Nothing about phases is written for a first phase: old definitions read back unchanged.
    let written = serde_json::to_value(experiment.spec()).expect("serializes");
    for field in ["phase", "phase_started_at", "phases"] {
        assert!(written.get(field).is_none(), "{field} in {written}");
    }
}

#[test]
fn the_next_phase_takes_the_new_split_and_a_fresh_salt_and_keeps_the_old_one() {
    let next = phase_two();
    assert_eq!(next.phase(), 2);
    assert_eq!(next.weights(), [0.8, 0.2]);
    assert_eq!(next.salt(), "free-shipping-35:2");
    assert_eq!(next.spec().phase_started_at, Some(at(0)));
    let history = &next.spec().phases;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].number, 1);
    assert_eq!(history[0].weights, [0.5, 0.5]);
    assert_eq!(history[0].traffic, 1.0);
    assert_eq!(history[0].salt, "free-shipping-35");
    assert_eq!(history[0].ended_at, Some(at(0)));
    // The definition round-trips through JSON and validates as written.
    let json = serde_json::to_value(next.spec()).expect("serializes");
    assert_eq!(json["phase"], 2);
    let again = Experiment::new(spec_from(json)).expect("a phase-2 definition is valid");
    assert_eq!(again, next);
}

#[test]
fn a_given_salt_and_traffic_are_taken_and_the_weights_stay_when_left_out() {
    let next = base_experiment()
        .next_phase(
            PhaseChange {
                traffic: Some(0.4),
                salt: Some("relaunch".into()),
                ..PhaseChange::default()
            },
            at(0),
        )
        .expect("a valid change");
    assert_eq!(next.salt(), "relaunch");
    assert_eq!(next.spec().traffic, 0.4);
    assert_eq!(next.weights(), [0.5, 0.5]);
}

#[test]
fn an_earlier_phase_is_seen_with_its_own_split_and_assigns_as_it_did() {
    let first = base_experiment();
    let second = phase_two();
    let third = second
        .next_phase(weights(&[0.3, 0.7]), at(1000))
        .expect("a valid change");
    assert_eq!(third.salt(), "free-shipping-35:3");
    let seen_first = third.at_phase(1).expect("phase 1 exists");
    assert_eq!(seen_first.phase(), 1);
    assert_eq!(seen_first.weights(), [0.5, 0.5]);
    assert_eq!(seen_first.salt(), "free-shipping-35");
    let seen_second = third.at_phase(2).expect("phase 2 exists");
    assert_eq!(seen_second.weights(), [0.8, 0.2]);
    assert_eq!(
        seen_second.spec().phases.len(),
        1,
        "as it was: one earlier phase"
    );
    assert_eq!(seen_second.phases(), second.phases());
    assert_eq!(third.at_phase(3), Some(third.clone()));
    for missing in [0, 4, u32::MAX] {
        assert_eq!(third.at_phase(missing), None, "phase {missing}");
    }
    for index in 0..2_000 {
        let unit = format!("unit-{index}");
        assert_eq!(seen_first.assign(&unit), first.assign(&unit), "{unit}");
        assert_eq!(seen_second.assign(&unit), second.assign(&unit), "{unit}");
    }
}

#[test]
fn a_fresh_salt_reassigns_units_independently_of_their_old_variant() {
    // 50/50 in both phases: with an independent hash about half the units change variant.
    let first = base_experiment();
    let second = first
        .next_phase(PhaseChange::default(), at(0))
        .expect("a valid change");
    let units = 10_000;
    let moved = (0..units)
        .filter(|index| {
            let unit = format!("unit-{index}");
            first.assign(&unit) != second.assign(&unit)
        })
        .count();
    // Binomial(10 000, 0.5): sd 50, so ±300 is six standard deviations.
    assert!((4_700..=5_300).contains(&moved), "{moved} of {units} moved");
}

#[test]
fn every_problem_with_a_phase_change_names_its_field() {
    let errors = base_experiment()
        .next_phase(
            PhaseChange {
                weights: Some(vec![0.5, -1.0, 0.2]),
                traffic: Some(1.5),
                salt: Some(String::new()),
            },
            at(0),
        )
        .expect_err("invalid change");
    assert_eq!(
        fields(&errors),
        ["weights", "weights[1]", "traffic", "salt"]
    );
}

#[test]
fn an_experiment_stops_at_its_last_allowed_phase() {
    let mut experiment = base_experiment();
    for step in 1..MAX_PHASES {
        experiment = experiment
            .next_phase(PhaseChange::default(), at(i64::from(step)))
            .expect("below the limit");
    }
    assert_eq!(experiment.phase(), MAX_PHASES);
    let errors = experiment
        .next_phase(PhaseChange::default(), at(0))
        .expect_err("past the limit");
    assert_eq!(fields(&errors), ["phase"]);
}

#[test]
fn a_definitions_phase_history_must_list_every_earlier_phase_in_order() {
    let cases = [
        (json!({"phase": 0}), vec!["phase"]),
        (json!({"phase": 2}), vec!["phases"]),
        (
            json!({"phase": 2, "phases": [{"number": 2, "weights": [1, 1], "traffic": 1, "salt": "s"}]}),
            vec!["phases[0].number"],
        ),
        (
            json!({"phase": 2, "phases": [{"number": 1, "weights": [1], "traffic": 2, "salt": ""}]}),
            vec!["phases[0].weights", "phases[0].traffic", "phases[0].salt"],
        ),
        (
            json!({"phase": 2, "phases": [{"number": 1, "weights": [1, 0], "traffic": 1, "salt": "s"}]}),
            vec!["phases[0].weights[1]"],
        ),
        (
            json!({"phases": [{"number": 1, "weights": [1, 1], "traffic": 1, "salt": "s"}]}),
            vec!["phases"],
        ),
    ];
    for (change, expected) in cases {
        let mut value = base_json();
        for (field, content) in change.as_object().expect("object") {
            value[field] = content.clone();
        }
        let errors = Experiment::new(spec_from(value)).expect_err("invalid phases");
        assert_eq!(fields(&errors), expected, "{change}");
    }
}
