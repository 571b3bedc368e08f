//! The conformance suite: generic cases over `&dyn Store` that every backend must pass with
//! identical expectations. Expected moments are computed by hand in the comments beside them.

mod covariates;
mod holdouts;
mod key_layout;
mod plugins;
mod sessions;

pub use covariates::*;
pub use holdouts::*;
pub use key_layout::*;
pub use plugins::*;
pub use sessions::*;

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::{Aggregates, Experiment, PluginCalls, Status, Timestamp};
use touchstone_store::{AuditEntry, EventOutcome, Exposure, Slice, Snapshot, Store};

pub use crate::phases::{
    a_new_phase_starts_from_zero_counters, an_earlier_phase_stays_readable_and_unchanged,
};

fn id(experiment: &Experiment, name: &str) -> String {
    format!("{}:{name}", experiment.key())
}

const ONE: EventOutcome = EventOutcome::Accepted { counted: 1 };
const NONE: EventOutcome = EventOutcome::Accepted { counted: 0 };

pub async fn first_exposure_wins_and_moves_the_unit_counter_once(store: &dyn Store) {
    let exp = experiment("first-exposure");
    let first = expose(store, &exp, "u1", 1, T0).await;
    assert!(first.new);
    let again = expose(store, &exp, "u1", 0, T0 + HOUR).await;
    assert!(!again.new);
    assert_eq!((again.variant, again.exposed_at.as_millis()), (1, T0));
    expose(store, &exp, "u2", 0, T0).await;
    let agg = aggregates(store, &exp).await;
    assert_eq!(agg.variants[0].key, "control");
    assert_eq!((agg.variants[0].units, agg.variants[1].units), (1, 1));
    // Exposure hours count new units only (u1's second exposure is not new).
    let hour = touchstone_model::exposure_hour(T0);
    assert_eq!(
        agg.variants[1].exposures_by_hour,
        std::collections::BTreeMap::from([(hour, 1)])
    );
    assert_eq!(agg.variants[0].exposures_by_hour.values().sum::<u64>(), 1);
}

pub async fn events_before_exposure_or_outside_the_window_are_not_counted(store: &dyn Store) {
    let exp = Arc::new(experiment("window"));
    expose(store, &exp, "u1", 0, T0).await;
    let events = [
        event(&id(&exp, "before"), "u1", "add_to_cart", None, T0 - 1),
        event(&id(&exp, "at"), "u1", "add_to_cart", None, T0),
        event(
            &id(&exp, "late"),
            "u1",
            "purchase",
            Some(8.0),
            T0 + 24 * HOUR,
        ),
        event(&id(&exp, "stranger"), "u9", "add_to_cart", None, T0),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![NONE, ONE, NONE, NONE]);
    let agg = aggregates(store, &exp).await;
    assert_eq!(stage(&agg, 0, "add_to_cart").reached, 1);
    assert_eq!(stage(&agg, 0, "add_to_cart").seconds, moments(1, 0.0, 0.0));
    assert_eq!(stage(&agg, 0, "purchase").reached, 0);
    // The late purchase is outside every window: revenue stays 0 over 1 exposed unit.
    assert_eq!(metric(&agg, 0, "revenue_per_unit"), moments(1, 0.0, 0.0));
}

pub async fn each_unit_reaches_a_stage_once_timed_by_its_first_arrival(store: &dyn Store) {
    let exp = Arc::new(experiment("stage-once"));
    expose(store, &exp, "u1", 0, T0).await;
    expose(store, &exp, "u2", 0, T0).await;
    let events = [
        event(&id(&exp, "a1"), "u1", "add_to_cart", None, T0 + HOUR),
        event(&id(&exp, "a2"), "u1", "add_to_cart", None, T0 + 2 * HOUR),
        event(&id(&exp, "a3"), "u2", "add_to_cart", None, T0 + 2 * HOUR),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE, ONE, ONE]);
    let agg = aggregates(store, &exp).await;
    // Seconds of first arrivals: 3600 and 7200; squares 12 960 000 + 51 840 000.
    let reached = stage(&agg, 0, "add_to_cart");
    assert_eq!(reached.reached, 2);
    assert_eq!(reached.seconds, moments(2, 10_800.0, 64_800_000.0));
}

pub async fn a_repeated_id_and_a_retried_batch_are_never_counted_twice(store: &dyn Store) {
    let exp = Arc::new(experiment("dedup"));
    expose(store, &exp, "u1", 1, T0).await;
    let batch = [
        event(&id(&exp, "e1"), "u1", "add_to_cart", None, T0 + HOUR),
        event(&id(&exp, "e2"), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id(&exp, "e2"), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id(&exp, "e3"), "u7", "purchase", Some(10.0), T0 + HOUR),
    ];
    let first = store
        .record_events(std::slice::from_ref(&exp), &batch)
        .await
        .expect("recorded");
    assert_eq!(
        first.outcomes,
        vec![ONE, ONE, EventOutcome::Duplicate, NONE]
    );
    let retried = store
        .record_events(std::slice::from_ref(&exp), &batch)
        .await
        .expect("recorded");
    assert_eq!(retried.duplicates(), 4);
    let agg = aggregates(store, &exp).await;
    assert_eq!(metric(&agg, 1, "revenue_per_unit"), moments(1, 10.0, 100.0));
    assert_eq!(metric(&agg, 1, "purchases"), moments(1, 1.0, 1.0));
    assert_eq!(stage(&agg, 1, "purchase").reached, 1);
}

pub async fn an_event_counts_for_every_experiment_the_unit_is_exposed_to(store: &dyn Store) {
    let a = Arc::new(experiment("multi-a"));
    let b = Arc::new(experiment("multi-b"));
    let c = Arc::new(experiment("multi-c"));
    expose(store, &a, "u1", 0, T0).await;
    expose(store, &b, "u1", 1, T0).await;
    let events = [event(&id(&a, "e1"), "u1", "purchase", Some(4.0), T0 + HOUR)];
    let outcome = store
        .record_events(&[a.clone(), b.clone(), c.clone()], &events)
        .await
        .expect("recorded");
    assert_eq!(
        outcome.outcomes,
        vec![EventOutcome::Accepted { counted: 2 }]
    );
    assert_eq!(
        metric(&aggregates(store, &a).await, 0, "revenue_per_unit").sum,
        4.0
    );
    assert_eq!(
        metric(&aggregates(store, &b).await, 1, "revenue_per_unit").sum,
        4.0
    );
    assert_eq!(aggregates(store, &c).await.variants[0].units, 0);
}

pub async fn sum_count_and_conversion_metrics_are_moments_of_per_unit_values(store: &dyn Store) {
    let exp = Arc::new(experiment("sums"));
    for unit in ["u1", "u2", "u3"] {
        expose(store, &exp, unit, 0, T0).await;
    }
    expose(store, &exp, "u4", 1, T0).await;
    let events = [
        event(&id(&exp, "p1"), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id(&exp, "p2"), "u1", "purchase", Some(30.0), T0 + 2 * HOUR),
        event(&id(&exp, "p3"), "u2", "purchase", Some(5.0), T0 + HOUR),
        event(
            &id(&exp, "p4"),
            "u2",
            "purchase",
            Some(100.0),
            T0 + 30 * HOUR,
        ),
        // No value: a purchase for the count and the stage, nothing for revenue.
        event(&id(&exp, "p5"), "u3", "purchase", None, T0 + 2 * HOUR),
    ];
    store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    let agg = aggregates(store, &exp).await;
    // Revenue per unit: u1 40, u2 5, u3 0 → sum 45, squares 1600 + 25.
    assert_eq!(
        metric(&agg, 0, "revenue_per_unit"),
        moments(3, 45.0, 1625.0)
    );
    // Purchases per unit: 2, 1, 1 → sum 4, squares 4 + 1 + 1.
    assert_eq!(metric(&agg, 0, "purchases"), moments(3, 4.0, 6.0));
    // Repeat purchase (≥ 2 in window): only u1 → 1 of 3.
    assert_eq!(metric(&agg, 0, "repeat_purchase"), moments(3, 1.0, 1.0));
    // Time to conversion (first purchase): 3600, 3600, 7200 s → squares 2 × 12 960 000 + 51 840 000.
    assert_eq!(
        metric(&agg, 0, "time_to_conversion"),
        moments(3, 14_400.0, 77_760_000.0)
    );
    assert_eq!(stage(&agg, 0, "purchase").reached, 3);
    assert_eq!(metric(&agg, 1, "revenue_per_unit"), moments(1, 0.0, 0.0));
    assert_eq!(metric(&agg, 1, "time_to_conversion"), moments(0, 0.0, 0.0));
}

pub async fn a_conversion_window_may_open_after_exposure(store: &dyn Store) {
    let exp = Arc::new(experiment("retention"));
    expose(store, &exp, "u1", 0, T0).await;
    expose(store, &exp, "u2", 0, T0).await;
    let events = [
        event(&id(&exp, "v1"), "u1", "visit", None, T0 + 50 * HOUR),
        event(&id(&exp, "v2"), "u2", "visit", None, T0 + 10 * HOUR),
        event(&id(&exp, "v3"), "u2", "visit", None, T0 + 72 * HOUR),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE, NONE, NONE]);
    let agg = aggregates(store, &exp).await;
    assert_eq!(metric(&agg, 0, "returned"), moments(2, 1.0, 1.0));
}

pub async fn an_nps_answer_replaces_the_units_previous_answer(store: &dyn Store) {
    let exp = Arc::new(experiment("nps"));
    for unit in ["u1", "u2", "u3"] {
        expose(store, &exp, unit, 0, T0).await;
    }
    let events = [
        event(&id(&exp, "s1"), "u1", "survey", Some(10.0), T0 + HOUR),
        event(&id(&exp, "s2"), "u2", "survey", Some(8.0), T0 + HOUR),
        event(&id(&exp, "s3"), "u3", "survey", None, T0 + HOUR),
    ];
    let outcome = store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    assert_eq!(outcome.outcomes, vec![ONE, ONE, NONE]);
    // u1 promoter (+100), u2 passive (0).
    assert_eq!(
        metric(&aggregates(store, &exp).await, 0, "nps"),
        moments(2, 100.0, 10_000.0)
    );
    let replaced = [event(
        &id(&exp, "s4"),
        "u1",
        "survey",
        Some(3.0),
        T0 + 2 * HOUR,
    )];
    store
        .record_events(std::slice::from_ref(&exp), &replaced)
        .await
        .expect("recorded");
    // u1 now a detractor (−100): still 2 answering units.
    assert_eq!(
        metric(&aggregates(store, &exp).await, 0, "nps"),
        moments(2, -100.0, 10_000.0)
    );
}

pub async fn a_mean_metric_moves_with_each_of_the_units_values(store: &dyn Store) {
    let exp = Arc::new(experiment("mean"));
    expose(store, &exp, "u1", 1, T0).await;
    expose(store, &exp, "u2", 1, T0).await;
    expose(store, &exp, "u3", 1, T0).await;
    let events = [
        event(&id(&exp, "m1"), "u1", "effort", Some(2.0), T0 + HOUR),
        event(&id(&exp, "m2"), "u1", "effort", Some(4.0), T0 + 2 * HOUR),
        event(&id(&exp, "m3"), "u2", "effort", Some(5.0), T0 + HOUR),
    ];
    store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    // Unit means 3 and 5 over 2 responding units: sum 8, squares 9 + 25.
    assert_eq!(
        metric(&aggregates(store, &exp).await, 1, "effort"),
        moments(2, 8.0, 34.0)
    );
}

pub async fn definitions_are_versioned_and_reload_as_saved(store: &dyn Store) {
    let exp = experiment("definitions").with_status(Status::Draft);
    let before = store.definitions_version().await.expect("version");
    let first = store.save_definition(&exp).await.expect("saved");
    assert!(first > before);
    let running = exp.with_status(Status::Running);
    let second = store.save_definition(&running).await.expect("saved");
    assert!(second > first);
    assert!(store.definitions_version().await.expect("version") >= second);
    let loaded = store.load_definitions().await.expect("loaded");
    assert!(loaded.version >= second);
    let found = loaded
        .experiments
        .iter()
        .find(|e| e.key() == exp.key())
        .expect("saved experiment is loaded");
    assert_eq!(found, &running);
}

pub async fn a_conditional_save_refuses_a_moved_version(store: &dyn Store) {
    let exp = experiment("definitions-cas").with_status(Status::Draft);
    let (seen, saved) = save_when_unmoved(store, &exp).await;
    assert!(saved > seen);
    // A second writer that checked against the same (now stale) version loses, and its
    // definition is not written.
    let running = exp.with_status(Status::Running);
    assert_eq!(
        store.save_definition_if(&running, seen).await.expect("ran"),
        None
    );
    let loaded = store.load_definitions().await.expect("loaded");
    let found = loaded
        .experiments
        .iter()
        .find(|e| e.key() == exp.key())
        .expect("saved experiment is loaded");
    assert_eq!(found.status(), Status::Draft);
    let (seen, saved) = save_when_unmoved(store, &running).await;
    assert!(saved > seen);
}

/// Reads the version and saves against it, again while other tests sharing the store move it
/// in between. Returns the version seen and the new one.
async fn save_when_unmoved(store: &dyn Store, exp: &Experiment) -> (u64, u64) {
    for _ in 0..100 {
        let seen = store.definitions_version().await.expect("version");
        if let Some(saved) = store.save_definition_if(exp, seen).await.expect("ran") {
            return (seen, saved);
        }
    }
    panic!("the definitions version moved 100 times in a row");
}

pub async fn find_exposures_reads_without_recording(store: &dyn Store) {
    let a = Arc::new(experiment("find-a"));
    let b = Arc::new(experiment("find-b"));
    expose(store, &a, "u1", 1, T0).await;
    let found = store
        .find_exposures("u1", &[a.clone(), b.clone()])
        .await
        .expect("read");
    assert_eq!(found.len(), 2);
    let record = found[0].as_ref().expect("exposed in a");
    assert_eq!(
        (record.variant, record.exposed_at.as_millis(), record.new),
        (1, T0, false)
    );
    assert!(found[1].is_none());
    assert_eq!(aggregates(store, &b).await.variants[1].units, 0);
}

/// An experiment sliced by device and country, keeping at most two values per attribute.
fn sliced_experiment(name: &str) -> Experiment {
    let mut spec = experiment(name).spec().clone();
    spec.segments = vec!["device".into(), "country".into()];
    spec.max_segment_values = 2;
    Experiment::new(spec).expect("spec is valid")
}

async fn expose_with(
    store: &dyn Store,
    experiment: &Experiment,
    unit: &str,
    variant: usize,
    segments: &[(&str, &str)],
    plugin_version: Option<&str>,
) {
    store
        .record_exposure(
            experiment,
            &Exposure {
                unit_id: unit.into(),
                variant,
                at: Timestamp::from_millis(T0),
                segments: segments
                    .iter()
                    .map(|(attribute, value)| ((*attribute).to_owned(), (*value).to_owned()))
                    .collect(),
                plugin_version: plugin_version.map(str::to_owned),
                covariates: Default::default(),
            },
        )
        .await
        .expect("exposure recorded");
}

fn slice<'a>(slices: &'a [Slice], value: &str) -> &'a Aggregates {
    &slices
        .iter()
        .find(|slice| slice.value == value)
        .unwrap_or_else(|| panic!("slice {value} missing"))
        .aggregates
}

pub async fn slices_count_each_unit_where_its_first_exposure_put_it(store: &dyn Store) {
    let exp = Arc::new(sliced_experiment("slices"));
    let de = [("device", "mobile"), ("country", "DE")];
    expose_with(store, &exp, "u1", 0, &de, None).await;
    expose_with(store, &exp, "u2", 1, &de, Some("abc123")).await;
    expose_with(
        store,
        &exp,
        "u3",
        1,
        &[("device", "desktop"), ("country", "(none)")],
        None,
    )
    .await;
    // A third device value is past max_segment_values = 2: it counts as (other).
    expose_with(
        store,
        &exp,
        "u4",
        1,
        &[("device", "tablet"), ("country", "FR")],
        None,
    )
    .await;
    // First exposure wins: u1 moving to desktop later changes no slice.
    expose_with(store, &exp, "u1", 0, &[("device", "desktop")], None).await;
    let events = [
        event(&id(&exp, "p1"), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id(&exp, "p2"), "u2", "purchase", Some(20.0), T0 + HOUR),
        event(&id(&exp, "p3"), "u4", "purchase", Some(5.0), T0 + HOUR),
        event(&id(&exp, "p4"), "u4", "purchase", Some(5.0), T0 + 2 * HOUR),
    ];
    store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");
    // A retried batch moves no slice either.
    store
        .record_events(std::slice::from_ref(&exp), &events)
        .await
        .expect("recorded");

    let devices = store.load_slices(&exp, "device").await.expect("slices");
    let values: Vec<&str> = devices.iter().map(|slice| slice.value.as_str()).collect();
    assert_eq!(values, ["(other)", "desktop", "mobile"]);
    let mobile = slice(&devices, "mobile");
    assert_eq!((mobile.variants[0].units, mobile.variants[1].units), (1, 1));
    assert_eq!(stage(mobile, 0, "purchase").reached, 1);
    assert_eq!(
        metric(mobile, 0, "revenue_per_unit"),
        moments(1, 10.0, 100.0)
    );
    assert_eq!(
        metric(mobile, 1, "revenue_per_unit"),
        moments(1, 20.0, 400.0)
    );
    let desktop = slice(&devices, "desktop");
    assert_eq!(
        (desktop.variants[0].units, desktop.variants[1].units),
        (0, 1)
    );
    assert_eq!(stage(desktop, 1, "purchase").reached, 0);
    // u4 bought twice: one unit, per-unit total 10, purchases 2 (sum of squares 4).
    let other = slice(&devices, "(other)");
    assert_eq!(
        metric(other, 1, "revenue_per_unit"),
        moments(1, 10.0, 100.0)
    );
    assert_eq!(metric(other, 1, "purchases"), moments(1, 2.0, 4.0));

    let countries = store.load_slices(&exp, "country").await.expect("slices");
    let values: Vec<&str> = countries.iter().map(|slice| slice.value.as_str()).collect();
    assert_eq!(values, ["(none)", "DE", "FR"]);
    assert_eq!(slice(&countries, "DE").variants[1].units, 1);

    let plugins = store
        .load_slices(&exp, "plugin_version")
        .await
        .expect("slices");
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0].value, "abc123");
    assert_eq!(plugins[0].aggregates.variants[1].units, 1);
    assert_eq!(stage(&plugins[0].aggregates, 1, "purchase").reached, 1);

    // The whole experiment is the sum of any attribute's slices.
    let whole = aggregates(store, &exp).await;
    assert_eq!((whole.variants[0].units, whole.variants[1].units), (1, 3));
    assert_eq!(
        metric(&whole, 1, "revenue_per_unit"),
        moments(3, 30.0, 500.0)
    );
    assert!(
        store
            .load_slices(&exp, "browser")
            .await
            .expect("slices")
            .is_empty()
    );
}

pub async fn a_days_snapshot_is_replaced_and_days_load_oldest_first(store: &dyn Store) {
    let exp = Arc::new(experiment("snapshots"));
    assert!(
        store
            .load_snapshots(&exp)
            .await
            .expect("snapshots")
            .is_empty()
    );
    expose(store, &exp, "u1", 0, T0).await;
    let day_one = aggregates(store, &exp).await;
    let save = |day: &str, aggregates: &Aggregates| Snapshot {
        day: day.to_owned(),
        aggregates: aggregates.clone(),
    };
    store
        .save_snapshot(&exp, &save("2026-11-24", &day_one))
        .await
        .expect("saved");
    store
        .save_snapshot(&exp, &save("2026-11-23", &Aggregates::default()))
        .await
        .expect("saved");
    expose(store, &exp, "u2", 1, T0).await;
    let later = aggregates(store, &exp).await;
    store
        .save_snapshot(&exp, &save("2026-11-24", &later))
        .await
        .expect("replaced");
    let snapshots = store.load_snapshots(&exp).await.expect("snapshots");
    let days: Vec<&str> = snapshots.iter().map(|s| s.day.as_str()).collect();
    assert_eq!(days, ["2026-11-23", "2026-11-24"]);
    assert_eq!(snapshots[1].aggregates, later);
    assert_eq!(snapshots[0].aggregates, Aggregates::default());
}

fn audit_entry(experiment: Option<&str>, action: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at: Timestamp::from_millis(at),
        key_id: "0a1b2c3d".into(),
        action: action.into(),
        experiment: experiment.map(str::to_owned),
        changes: serde_json::json!({"status": {"from": "draft", "to": action}, "n": at}),
    }
}

pub async fn audit_logs_read_newest_first_per_experiment_and_globally(store: &dyn Store) {
    // Keys unique to this case: the global log is shared by every case of a backend.
    let (a, b) = ("audit-a", "audit-b");
    let written = [
        audit_entry(Some(a), "define", T0),
        audit_entry(Some(a), "start", T0 + 1),
        audit_entry(Some(b), "define", T0 + 2),
        audit_entry(None, "plugin_upload", T0 + 3),
        audit_entry(Some(a), "ship", T0 + 4),
        audit_entry(None, "plugin_bind", T0 + 5),
    ];
    for entry in &written {
        store.append_audit(entry).await.expect("appended");
    }
    let of_a = store.load_audit(Some(a), 100).await.expect("read");
    assert_eq!(
        of_a,
        vec![written[4].clone(), written[1].clone(), written[0].clone()]
    );
    let newest = store.load_audit(Some(a), 2).await.expect("read");
    assert_eq!(newest, vec![written[4].clone(), written[1].clone()]);
    assert_eq!(
        store.load_audit(Some(b), 100).await.expect("read"),
        vec![written[2].clone()]
    );
    assert_eq!(
        store
            .load_audit(Some("audit-none"), 100)
            .await
            .expect("read"),
        vec![]
    );
    assert_eq!(store.load_audit(Some(a), 0).await.expect("read"), vec![]);
    let global = store.load_audit(None, 2).await.expect("read");
    assert_eq!(global, vec![written[5].clone(), written[3].clone()]);
}

pub async fn one_of_many_racing_guardrail_claims_wins_until_it_expires(store: &dyn Store) {
    let hour = std::time::Duration::from_secs(3600);
    // Eight servers' checkers claim the same harm at once: exactly one may act.
    let claims =
        futures::future::join_all((0..8).map(|_| store.claim_guardrail("guard-a", "harm", hour)))
            .await;
    let won = claims
        .into_iter()
        .map(|claim| claim.expect("claimed"))
        .filter(|won| *won)
        .count();
    assert_eq!(won, 1);
    assert!(
        !store
            .claim_guardrail("guard-a", "harm", hour)
            .await
            .expect("claimed")
    );
    // Another subject of the same experiment, and another experiment, are claims of their own.
    assert!(
        store
            .claim_guardrail("guard-a", "srm", hour)
            .await
            .expect("claimed")
    );
    assert!(
        store
            .claim_guardrail("guard-b", "harm", hour)
            .await
            .expect("claimed")
    );
    // An expired claim (a server that died holding it) can be taken again.
    let short = std::time::Duration::from_millis(20);
    assert!(
        store
            .claim_guardrail("guard-c", "harm", short)
            .await
            .expect("claimed")
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        store
            .claim_guardrail("guard-c", "harm", short)
            .await
            .expect("claimed")
    );
}

pub async fn a_released_guardrail_claim_can_be_taken_again_at_once(store: &dyn Store) {
    let hour = std::time::Duration::from_secs(3600);
    for subject in ["harm", "srm"] {
        assert!(
            store
                .claim_guardrail("guard-r", subject, hour)
                .await
                .expect("claimed")
        );
        assert!(
            !store
                .claim_guardrail("guard-r", subject, hour)
                .await
                .expect("claimed")
        );
    }
    assert!(
        store
            .claim_guardrail("guard-s", "harm", hour)
            .await
            .expect("claimed")
    );
    // A restart re-arms the guardrail: every subject of that experiment, no other experiment.
    store.release_guardrail("guard-r").await.expect("released");
    store
        .release_guardrail("guard-r")
        .await
        .expect("released twice");
    for subject in ["harm", "srm"] {
        assert!(
            store
                .claim_guardrail("guard-r", subject, hour)
                .await
                .expect("claimed")
        );
    }
    assert!(
        !store
            .claim_guardrail("guard-s", "harm", hour)
            .await
            .expect("claimed")
    );
}

pub async fn plugin_health_adds_up_per_variant_and_reads_zeros_before_any_call(store: &dyn Store) {
    let other = experiment("plugin-health-other");
    let experiment = experiment("plugin-health");
    let zeros = vec![PluginCalls::default(); 2];
    assert_eq!(
        store.load_plugin_health(&experiment).await.expect("load"),
        zeros
    );
    let calls = |calls, fallbacks| PluginCalls { calls, fallbacks };
    // Two servers' seconds of calls, racing; then one that only saw control, and an empty one.
    let (first, second) = ([calls(10, 1), calls(12, 12)], [calls(5, 0), calls(3, 2)]);
    let (a, b) = futures::join!(
        store.add_plugin_health(&experiment, &first),
        store.add_plugin_health(&experiment, &second),
    );
    a.expect("added");
    b.expect("added");
    store
        .add_plugin_health(&experiment, &[calls(1, 0)])
        .await
        .expect("added");
    store
        .add_plugin_health(&experiment, &[])
        .await
        .expect("added nothing");
    // An index past the variants is ignored rather than kept.
    store
        .add_plugin_health(&experiment, &[calls(0, 0), calls(0, 0), calls(7, 7)])
        .await
        .expect("added");
    assert_eq!(
        store.load_plugin_health(&experiment).await.expect("load"),
        vec![calls(16, 1), calls(15, 14)]
    );
    // Another experiment's counters are its own.
    assert_eq!(store.load_plugin_health(&other).await.expect("load"), zeros);
}
