//! All-or-nothing batches on a real Redis (issue 15): when Redis refuses the writes (too few
//! replicas, out of memory) or a sum would not be finite, the batch leaves no trace — no
//! seen-ids, no unit state, no counters, no processed markers — and its retry after recovery
//! counts every event exactly once; a batch split over several calls, one of which fails, marks
//! only the events it counted. On a single Redis the marker is an event's only per-id key; on a
//! Cluster the script claims seen-ids, and undoes them on failure.

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::{Aggregates, Experiment};
use touchstone_store::{EventOutcome, RedisStore, Store};
use touchstone_testkit::redis::{RedisCluster, RedisServer};

/// Every key with its content (`DUMP`, Redis's serialization of the value), sorted.
fn everything(server: &RedisServer) -> Vec<String> {
    let keys = server.cli(&["--scan"]);
    let mut keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
    keys.sort_unstable();
    keys.iter()
        .map(|key| format!("{key} {}", server.cli(&["DUMP", key])))
        .collect()
}

/// u1 (control) and u2 (treatment) exposed; a batch touching a stage, a value, a count, an NPS
/// answer and a mean for both.
async fn exposed_pair(
    store: &dyn Store,
    name: &str,
) -> (Arc<Experiment>, Vec<touchstone_model::OutcomeEvent>) {
    let exp = Arc::new(experiment(name));
    expose(store, &exp, "u1", 0, T0).await;
    expose(store, &exp, "u2", 1, T0).await;
    let id = |n: u32| format!("{}:{n}", exp.key());
    let batch = vec![
        event(&id(1), "u1", "add_to_cart", None, T0 + HOUR),
        event(&id(2), "u1", "purchase", Some(20.0), T0 + HOUR),
        event(&id(3), "u2", "purchase", Some(7.5), T0 + HOUR),
        event(&id(4), "u2", "survey", Some(10.0), T0 + HOUR),
        event(&id(5), "u2", "effort", Some(4.0), T0 + HOUR),
    ];
    (exp, batch)
}

fn assert_counted_once(agg: &Aggregates) {
    assert_eq!(stage(agg, 0, "add_to_cart").reached, 1);
    assert_eq!(metric(agg, 0, "revenue_per_unit"), moments(1, 20.0, 400.0));
    assert_eq!(metric(agg, 1, "revenue_per_unit"), moments(1, 7.5, 56.25));
    assert_eq!(metric(agg, 1, "purchases"), moments(1, 1.0, 1.0));
    assert_eq!(metric(agg, 1, "nps"), moments(1, 100.0, 10_000.0));
    assert_eq!(metric(agg, 1, "effort"), moments(1, 4.0, 16.0));
}

#[tokio::test]
async fn a_batch_redis_refuses_to_write_leaves_no_trace_and_its_retry_counts_once() {
    // Its own server: the refusals are server-wide settings.
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let (exp, batch) = exposed_pair(&store, "refused").await;
    let exps = std::slice::from_ref(&exp);
    let before = everything(&server);
    let untouched = aggregates(&store, &exp).await;

    // Too few replicas: every write is refused (reads still answer).
    server.cli(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    assert!(store.record_events(exps, &batch).await.is_err());
    assert_eq!(everything(&server), before, "a refused batch left a trace");
    server.cli(&["CONFIG", "SET", "min-replicas-to-write", "0"]);

    // Out of memory: the same.
    server.cli(&["CONFIG", "SET", "maxmemory", "1"]);
    assert!(store.record_events(exps, &batch).await.is_err());
    server.cli(&["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(everything(&server), before, "a refused batch left a trace");
    assert_eq!(aggregates(&store, &exp).await, untouched);

    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(
        retried.outcomes,
        [
            EventOutcome::Accepted { counted: 1 },
            EventOutcome::Accepted { counted: 1 },
            EventOutcome::Accepted { counted: 1 },
            EventOutcome::Accepted { counted: 1 },
            EventOutcome::Accepted { counted: 1 },
        ]
    );
    assert_counted_once(&aggregates(&store, &exp).await);
    let again = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(again.duplicates(), batch.len());
    assert_counted_once(&aggregates(&store, &exp).await);
}

#[tokio::test]
async fn a_sum_that_would_not_be_finite_refuses_the_whole_call_before_any_write() {
    let server = RedisServer::shared();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let (exp, mut batch) = exposed_pair(&store, "non-finite").await;
    let exps = std::slice::from_ref(&exp);
    // The server refuses such a value (|v| ≤ 1e15) before the store; the store must still not
    // half-write one: its square is not finite.
    let huge = event(
        &format!("{}:huge", exp.key()),
        "u1",
        "purchase",
        Some(1e200),
        T0 + HOUR,
    );
    batch.insert(0, huge);
    let untouched = aggregates(&store, &exp).await;
    assert!(store.record_events(exps, &batch).await.is_err());
    assert_eq!(aggregates(&store, &exp).await, untouched);
    let marker = |id: &str| server.cli(&["EXISTS", &format!("touchstone:ev:{id}")]);
    let seen = |id: &str| server.cli(&["EXISTS", &format!("{{exp:{}}}:p1:e:{id}", exp.key())]);
    for event in &batch {
        assert_eq!(marker(&event.id).trim(), "0", "{}", event.id);
        assert_eq!(seen(&event.id).trim(), "0", "{}", event.id);
    }
    let unit = server.cli(&["HGETALL", &format!("{{exp:{}}}:p1:u:u1", exp.key())]);
    assert!(!unit.contains("x:") && !unit.contains("s:"), "{unit}");

    let valid = &batch[1..];
    let recorded = store.record_events(exps, valid).await.expect("recorded");
    assert_eq!(recorded.accepted(), valid.len());
    assert_counted_once(&aggregates(&store, &exp).await);
}

/// `batch` plus a last event of u3, and u3's unit key: the caller makes it a string, so the
/// script's HMGET of it fails after everything the batch's other events claimed.
fn with_broken_unit(
    exp: &Experiment,
    batch: &[touchstone_model::OutcomeEvent],
) -> (String, Vec<touchstone_model::OutcomeEvent>) {
    let mut with_broken = batch.to_vec();
    with_broken.push(event(
        &format!("{}:broken", exp.key()),
        "u3",
        "purchase",
        Some(1.0),
        T0 + HOUR,
    ));
    (format!("{{exp:{}}}:p1:u:u3", exp.key()), with_broken)
}

/// A command that fails inside the script after the markers were claimed (here a unit key that
/// is not a hash: `WRONGTYPE`) must not leave those claims behind: they would make the retry
/// answer `Duplicate` for events nobody counted.
#[tokio::test]
async fn a_command_failing_after_the_claims_leaves_no_marker_and_the_retry_counts_once() {
    let server = RedisServer::shared();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let (exp, batch) = exposed_pair(&store, "wrong-type").await;
    let exps = std::slice::from_ref(&exp);
    // u3 is not exposed; its unit key holds a string, so the script's HMGET of it fails
    // after every marker of the batch was claimed.
    let (broken, with_broken) = with_broken_unit(&exp, &batch);
    server.cli(&["SET", &broken, "not a hash"]);
    let before = everything(server);
    let untouched = aggregates(&store, &exp).await;
    let failed = store.record_events(exps, &with_broken).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(everything(server), before, "the failed batch left a trace");
    assert_eq!(aggregates(&store, &exp).await, untouched);

    server.cli(&["DEL", &broken]);
    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(retried.accepted(), batch.len());
    assert_eq!(retried.duplicates(), 0);
    assert_counted_once(&aggregates(&store, &exp).await);
}

/// On a single Redis an event's marker, claimed in the call that counts it, is its only guard
/// against a retry: the batch leaves one marker per event and no per-experiment seen-id.
#[tokio::test]
async fn on_a_single_redis_an_event_leaves_its_marker_and_no_seen_id() {
    let server = RedisServer::shared();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let (exp, batch) = exposed_pair(&store, "marker-only").await;
    let exps = std::slice::from_ref(&exp);
    let recorded = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(recorded.accepted(), batch.len());
    for event in &batch {
        let marker = server.cli(&["EXISTS", &format!("touchstone:ev:{}", event.id)]);
        assert_eq!(marker.trim(), "1", "{}", event.id);
    }
    let seen = server.cli(&[
        "--scan",
        "--pattern",
        &format!("{{exp:{}}}:p1:e:*", exp.key()),
    ]);
    assert_eq!(seen.trim(), "", "seen-ids were written");
    let again = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(again.duplicates(), batch.len());
    assert_counted_once(&aggregates(&store, &exp).await);
}

/// On a Cluster the script claims seen-ids (the markers are written by the caller, after every
/// call): a command failing after those claims deletes them again, and the retry counts once.
#[tokio::test]
async fn a_command_failing_after_the_seen_id_claims_on_a_cluster_leaves_none() {
    let cluster = RedisCluster::shared();
    let store = RedisStore::connect(&cluster.url()).await.expect("url");
    let (exp, batch) = exposed_pair(&store, "wrong-type-cluster").await;
    let exps = std::slice::from_ref(&exp);
    // u3's unit key holds a string: the script's HMGET of it fails after u1's and u2's seen-ids
    // were claimed (u3's event comes last). The node without the slot answers MOVED.
    let (broken, with_broken) = with_broken_unit(&exp, &batch);
    for node in cluster.nodes() {
        node.cli(&["SET", &broken, "not a hash"]);
    }
    let untouched = aggregates(&store, &exp).await;
    let failed = store.record_events(exps, &with_broken).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(aggregates(&store, &exp).await, untouched);
    let pattern = format!("{{exp:{}}}:p1:e:*", exp.key());
    for node in cluster.nodes() {
        let seen = node.cli(&["--scan", "--pattern", &pattern]);
        assert_eq!(seen.trim(), "", "a failed call left seen-ids");
    }

    for node in cluster.nodes() {
        node.cli(&["DEL", &broken]);
    }
    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(retried.accepted(), batch.len());
    assert_counted_once(&aggregates(&store, &exp).await);
    let again = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(again.duplicates(), batch.len());
}

/// 150 purchases of 150 units exposed to two experiments (variant 0 of each) — 300 counting
/// entries, more than one script call takes — with a value whose square is not finite at
/// index 120, so a call holding it fails. Whatever the calls, a processed marker must only
/// exist for an event both experiments counted (it makes the retry answer `Duplicate`), and
/// the retry must count every event exactly once.
async fn a_failed_call_of_a_split_batch_leaves_markers_only_on_counted_events(
    store: &dyn Store,
    marker_exists: impl Fn(&str) -> bool,
) {
    const EVENTS: usize = 150;
    const HUGE: usize = 120;
    let a = Arc::new(experiment("split-a"));
    let b = Arc::new(experiment("split-b"));
    let exps = [a.clone(), b.clone()];
    let mut batch = Vec::new();
    for n in 0..EVENTS {
        let unit = format!("u{n}");
        expose(store, &a, &unit, 0, T0).await;
        expose(store, &b, &unit, 0, T0).await;
        let value = if n == HUGE { 1e200 } else { 1.0 };
        let id = format!("{}:{n}", a.key());
        batch.push(event(&id, &unit, "purchase", Some(value), T0 + HOUR));
    }
    assert!(store.record_events(&exps, &batch).await.is_err());

    let marked = batch.iter().filter(|e| marker_exists(&e.id)).count();
    assert!(!marker_exists(&batch[HUGE].id));
    for exp in [&a, &b] {
        // Every unit sent one purchase of 1: the sum is the number of events counted.
        let counted = metric(&aggregates(store, exp).await, 0, "revenue_per_unit").sum;
        assert!(
            counted >= marked as f64,
            "{marked} markers but {counted} events counted in {}",
            exp.key()
        );
    }

    batch.remove(HUGE);
    let retried = store.record_events(&exps, &batch).await.expect("recorded");
    assert_eq!(retried.duplicates(), marked);
    for exp in [&a, &b] {
        let agg = aggregates(store, exp).await;
        // Over every exposed unit (150); 149 of them bought once, for 1.
        let n = (EVENTS - 1) as f64;
        assert_eq!(
            metric(&agg, 0, "revenue_per_unit"),
            moments(EVENTS as u64, n, n)
        );
        assert_eq!(stage(&agg, 0, "purchase").reached, EVENTS as u64 - 1);
    }
    let again = store.record_events(&exps, &batch).await.expect("recorded");
    assert_eq!(again.duplicates(), batch.len());
}

#[tokio::test]
async fn a_failed_call_of_a_split_batch_on_redis_marks_only_counted_events() {
    let server = RedisServer::shared();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let marker_exists = |id: &str| {
        server
            .cli(&["EXISTS", &format!("touchstone:ev:{id}")])
            .trim()
            == "1"
    };
    a_failed_call_of_a_split_batch_leaves_markers_only_on_counted_events(&store, marker_exists)
        .await;
}

#[tokio::test]
async fn a_failed_call_of_a_split_batch_on_a_cluster_marks_only_counted_events() {
    let cluster = RedisCluster::shared();
    let store = RedisStore::connect(&cluster.url()).await.expect("url");
    // A marker lives on one node; the others answer MOVED.
    let marker_exists = |id: &str| {
        let key = format!("touchstone:ev:{id}");
        cluster
            .nodes()
            .iter()
            .any(|node| node.cli(&["EXISTS", &key]).trim() == "1")
    };
    a_failed_call_of_a_split_batch_leaves_markers_only_on_counted_events(&store, marker_exists)
        .await;
}
