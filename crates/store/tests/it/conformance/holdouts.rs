//! Conformance cases for holdouts: their definitions live beside the experiments' under the
//! same version, and their synthetic experiment (`holdout:KEY`, a key no experiment can have)
//! is exposed, counted and sliced like any experiment — on Redis Cluster too.

use crate::fixtures::*;
use serde_json::json;
use std::sync::Arc;
use touchstone_model::{Holdout, HoldoutSpec, HoldoutStatus, Status};
use touchstone_store::{EventOutcome, Store};

/// Held out: 10%; journey add_to_cart → purchase, revenue from `purchase`, a 24 h window, one
/// count metric, sliced by device.
fn holdout(name: &str) -> Holdout {
    let spec: HoldoutSpec = serde_json::from_value(json!({
        "key": unique(name),
        "share": 0.1,
        "touchpoints": ["*"],
        "journey": ["add_to_cart", "purchase"],
        "value_event": "purchase",
        "conversion_window_hours": 24.0,
        "metrics": [{"key": "purchases", "kind": "count", "event": "purchase"}],
        "segments": ["device"],
    }))
    .expect("holdout parses");
    Holdout::new(spec).expect("holdout is valid")
}

pub async fn a_conditional_holdout_save_refuses_a_moved_version(store: &dyn Store) {
    let first = holdout("holdout-cas");
    let mut saved = None;
    for _ in 0..100 {
        // Other tests sharing the store move the version; retry until one save is unmoved.
        let seen = store.definitions_version().await.expect("version");
        if let Some(version) = store.save_holdout_if(&first, seen).await.expect("ran") {
            assert!(version > seen);
            saved = Some(seen);
            break;
        }
    }
    let seen = saved.expect("the definitions version moved 100 times in a row");
    // A second writer that decided on the same (now stale) version loses; nothing is written.
    let stopped = first.with_status(HoldoutStatus::Stopped);
    assert_eq!(
        store.save_holdout_if(&stopped, seen).await.expect("ran"),
        None
    );
    let loaded = store.load_definitions().await.expect("loaded");
    let found = loaded.holdouts.iter().find(|h| h.key() == first.key());
    assert_eq!(found, Some(&first));
}

pub async fn holdouts_are_versioned_with_the_definitions_and_reload_as_saved(store: &dyn Store) {
    let first = holdout("holdout-defs");
    let before = store.definitions_version().await.expect("version");
    let saved = store.save_holdout(&first).await.expect("saved");
    assert!(saved > before);
    let stopped = first.with_status(HoldoutStatus::Stopped);
    let again = store.save_holdout(&stopped).await.expect("saved");
    assert!(again > saved, "a holdout bumps the definitions version");
    let experiment = experiment("holdout-defs-exp").with_status(Status::Draft);
    let after = store.save_definition(&experiment).await.expect("saved");
    assert!(after > again, "one counter for experiments and holdouts");

    let loaded = store.load_definitions().await.expect("loaded");
    assert!(loaded.version >= after);
    let found: Vec<&Holdout> = loaded
        .holdouts
        .iter()
        .filter(|holdout| holdout.key() == first.key())
        .collect();
    assert_eq!(found, [&stopped], "replaced, not added");
    assert_eq!(found[0].experiment().status(), Status::Stopped);
    // A holdout is not an experiment: it never shows among them, not even by its store key.
    assert!(
        loaded
            .experiments
            .iter()
            .all(|e| e.key() != first.key() && e.key() != first.experiment().key())
    );
    assert!(
        loaded
            .experiments
            .iter()
            .any(|e| e.key() == experiment.key())
    );
    let keys: Vec<&str> = loaded.holdouts.iter().map(Holdout::key).collect();
    let sorted = {
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted
    };
    assert_eq!(keys, sorted, "holdouts load in key order");
}

pub async fn a_holdouts_synthetic_experiment_counts_like_any_experiment(store: &dyn Store) {
    let holdout = holdout("holdout-counts");
    let synthetic = Arc::new(holdout.experiment().clone());
    let tested = Arc::new(experiment("holdout-counts-exp"));
    // u1 held out (variant 0), u2 and u3 in the program; u2 also in an experiment.
    expose(store, &synthetic, "u1", 0, T0).await;
    expose(store, &synthetic, "u2", 1, T0).await;
    expose(store, &synthetic, "u3", 1, T0).await;
    expose(store, &tested, "u2", 1, T0).await;
    let again = expose(store, &synthetic, "u1", 1, T0 + HOUR).await;
    assert_eq!(
        (again.variant, again.new),
        (0, false),
        "first exposure wins"
    );

    let name = synthetic.key();
    let events = [
        event(
            &format!("{name}:e1"),
            "u1",
            "purchase",
            Some(10.0),
            T0 + HOUR,
        ),
        event(
            &format!("{name}:e2"),
            "u2",
            "purchase",
            Some(30.0),
            T0 + HOUR,
        ),
        event(&format!("{name}:e3"), "u3", "add_to_cart", None, T0 + HOUR),
        event(
            &format!("{name}:e4"),
            "u3",
            "purchase",
            Some(20.0),
            T0 + 2 * HOUR,
        ),
    ];
    let outcome = store
        .record_events(&[tested.clone(), synthetic.clone()], &events)
        .await
        .expect("recorded");
    let counted = |n| EventOutcome::Accepted { counted: n };
    assert_eq!(
        outcome.outcomes,
        vec![counted(1), counted(2), counted(1), counted(1)]
    );

    let agg = aggregates(store, &synthetic).await;
    assert_eq!(agg.variants[0].key, "holdout");
    assert_eq!(agg.variants[1].key, "program");
    assert_eq!((agg.variants[0].units, agg.variants[1].units), (1, 2));
    // Revenue per unit: held out {10}; program {30, 20}: sum 50, squares 900 + 400.
    assert_eq!(metric(&agg, 0, "revenue_per_unit"), moments(1, 10.0, 100.0));
    assert_eq!(
        metric(&agg, 1, "revenue_per_unit"),
        moments(2, 50.0, 1300.0)
    );
    assert_eq!(metric(&agg, 1, "purchases"), moments(2, 2.0, 2.0));
    assert_eq!(stage(&agg, 1, "add_to_cart").reached, 1);
    assert_eq!(stage(&agg, 1, "purchase").reached, 2);
    // The experiment counted only its own unit.
    assert_eq!(
        metric(&aggregates(store, &tested).await, 1, "revenue_per_unit"),
        moments(1, 30.0, 900.0)
    );

    let found = store
        .find_exposures("u1", std::slice::from_ref(&synthetic))
        .await
        .expect("read");
    assert_eq!(found[0].as_ref().map(|record| record.variant), Some(0));
    let slices = store
        .load_slices(&synthetic, "device")
        .await
        .expect("slices");
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0].value, "mobile");
    assert_eq!(slices[0].aggregates.variants[1].units, 2);
}
