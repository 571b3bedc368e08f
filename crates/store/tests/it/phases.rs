//! Conformance cases for phases (re-exported by `conformance`, run against every backend): a
//! new phase counts from zero, a unit exposed before it is a fresh unit in it, and the earlier
//! phase stays readable through `Experiment::at_phase`, unchanged by what happens later.

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::{Experiment, PhaseChange, Timestamp};
use touchstone_store::{EventOutcome, Snapshot, Store};

const ONE: EventOutcome = EventOutcome::Accepted { counted: 1 };
const NONE: EventOutcome = EventOutcome::Accepted { counted: 0 };

fn id(experiment: &Experiment, name: &str) -> String {
    format!("{}:{name}", experiment.key())
}

/// Phase 1 of a fresh experiment with u1 (control) and u2 (treatment) exposed at T0, u1 in
/// the cart and u2 buying for 12, and a snapshot of the day; then its phase 2 (80/20) from
/// T0 + 2 h.
async fn first_phase_then_second(
    store: &dyn Store,
    name: &str,
) -> (Arc<Experiment>, Arc<Experiment>) {
    let first = Arc::new(experiment(name));
    expose(store, &first, "u1", 0, T0).await;
    expose(store, &first, "u2", 1, T0).await;
    let events = [
        event(&id(&first, "p1-cart"), "u1", "add_to_cart", None, T0 + HOUR),
        event(
            &id(&first, "p1-buy"),
            "u2",
            "purchase",
            Some(12.0),
            T0 + HOUR,
        ),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&first), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE, ONE]);
    let snapshot = Snapshot {
        day: "2026-11-23".into(),
        aggregates: aggregates(store, &first).await,
    };
    store
        .save_snapshot(&first, &snapshot)
        .await
        .expect("snapshot saved");
    let change = PhaseChange {
        weights: Some(vec![0.8, 0.2]),
        ..PhaseChange::default()
    };
    let second = first
        .next_phase(change, Timestamp::from_millis(T0 + 2 * HOUR))
        .expect("a valid phase");
    (first, Arc::new(second))
}

pub async fn a_new_phase_starts_from_zero_counters(store: &dyn Store) {
    let (_, second) = first_phase_then_second(store, "phase-zero").await;
    let agg = aggregates(store, &second).await;
    for variant in &agg.variants {
        assert_eq!(variant.units, 0, "{}", variant.key);
        assert!(variant.exposures_by_hour.is_empty(), "{}", variant.key);
        assert!(variant.stages.iter().all(|stage| stage.reached == 0));
    }
    assert_eq!(metric(&agg, 1, "revenue_per_unit"), moments(0, 0.0, 0.0));
    let slices = store
        .load_slices(&second, "device")
        .await
        .expect("slices load");
    assert!(slices.is_empty(), "{slices:?}");
    assert!(
        store
            .load_snapshots(&second)
            .await
            .expect("snapshots load")
            .is_empty()
    );
    // u1 was exposed in phase 1 only: in phase 2 it has no exposure and its events count
    // nowhere until it is exposed again.
    let found = store
        .find_exposures("u1", std::slice::from_ref(&second))
        .await
        .expect("read");
    assert_eq!(found, vec![None]);
    let early = [event(
        &id(&second, "p2-early"),
        "u1",
        "purchase",
        Some(5.0),
        T0 + 3 * HOUR,
    )];
    let outcome = store
        .record_events(std::slice::from_ref(&second), &early)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![NONE]);
    // Exposed again, it is a new unit of phase 2, in the variant phase 2 gives it.
    let exposed = expose(store, &second, "u1", 1, T0 + 3 * HOUR).await;
    assert!(exposed.new);
    assert_eq!(exposed.variant, 1);
    let later = [event(
        &id(&second, "p2-buy"),
        "u1",
        "purchase",
        Some(7.0),
        T0 + 4 * HOUR,
    )];
    let outcome = store
        .record_events(std::slice::from_ref(&second), &later)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE]);
    let agg = aggregates(store, &second).await;
    assert_eq!((agg.variants[0].units, agg.variants[1].units), (0, 1));
    assert_eq!(metric(&agg, 1, "revenue_per_unit"), moments(1, 7.0, 49.0));
    assert_eq!(stage(&agg, 1, "purchase").reached, 1);
}

pub async fn an_earlier_phase_stays_readable_and_unchanged(store: &dyn Store) {
    let (first, second) = first_phase_then_second(store, "phase-kept").await;
    let before = aggregates(store, &first).await;
    let slices_before = store.load_slices(&first, "device").await.expect("slices");
    // Phase 2 exposes u1 and u3 and counts their events, including one u1 sends with a time
    // inside its phase-1 window.
    expose(store, &second, "u1", 0, T0 + 3 * HOUR).await;
    expose(store, &second, "u3", 1, T0 + 3 * HOUR).await;
    let events = [
        event(
            &id(&second, "cart"),
            "u1",
            "add_to_cart",
            None,
            T0 + 4 * HOUR,
        ),
        event(
            &id(&second, "buy"),
            "u3",
            "purchase",
            Some(30.0),
            T0 + 4 * HOUR,
        ),
        event(
            &id(&second, "buy-again"),
            "u1",
            "purchase",
            Some(9.0),
            T0 + 5 * HOUR,
        ),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&second), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE, ONE, ONE]);
    // Phase 1, read through the view of it, is exactly as it was.
    let seen_first = second.at_phase(1).expect("phase 1 exists");
    assert_eq!(seen_first.weights(), first.weights());
    assert_eq!(aggregates(store, &seen_first).await, before);
    assert_eq!(before.variants[0].units + before.variants[1].units, 2);
    assert_eq!(stage(&before, 0, "add_to_cart").reached, 1);
    assert_eq!(
        metric(&before, 1, "revenue_per_unit"),
        moments(1, 12.0, 144.0)
    );
    assert_eq!(
        store
            .load_slices(&seen_first, "device")
            .await
            .expect("slices"),
        slices_before
    );
    let snapshots = store.load_snapshots(&seen_first).await.expect("snapshots");
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].aggregates, before);
    let found = store
        .find_exposures("u2", std::slice::from_ref(&Arc::new(seen_first)))
        .await
        .expect("read");
    assert_eq!(found[0].as_ref().map(|record| record.variant), Some(1));
}
