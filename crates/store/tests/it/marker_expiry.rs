//! Processed markers on a single Redis carry no TTL: the events script queues them by the hour
//! their time is up, and `expire_event_markers` deletes a queue once that hour (and one more)
//! has passed — never earlier, all of it, even with several sweepers at once. Each test has a
//! Redis of its own: a sweep "two weeks from now" would delete other tests' markers.

use crate::fixtures::*;
use std::sync::Arc;
use touchstone_model::{Experiment, Timestamp};
use touchstone_store::{RedisStore, Store};
use touchstone_testkit::redis::RedisServer;

const QUEUES: &str = "touchstone:evq";

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since_epoch.as_millis()).expect("fits")
}

/// The hours that have a queue.
fn queued_hours(server: &RedisServer) -> Vec<i64> {
    server
        .cli(&["ZRANGE", QUEUES, "0", "-1"])
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.trim().parse().expect("an hour"))
        .collect()
}

/// A Redis of the test's own, with `name`'s unit u1 exposed (variant 0).
async fn own_redis_with_u1_exposed(name: &str) -> (RedisServer, RedisStore, Arc<Experiment>) {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let exp = Arc::new(experiment(name));
    expose(&store, &exp, "u1", 0, T0).await;
    (server, store, exp)
}

/// How long the experiment's markers must live: its longest window + 7 days.
fn marker_ttl_ms(exp: &Experiment) -> i64 {
    ((exp.longest_window_hours() + 7.0 * 24.0) * HOUR as f64) as i64
}

fn exists(server: &RedisServer, key: &str) -> bool {
    server.cli(&["EXISTS", key]).trim() == "1"
}

#[tokio::test]
async fn a_marker_lives_past_its_ttl_and_is_swept_an_hour_after_its_queue_ends() {
    let (server, store, exp) = own_redis_with_u1_exposed("sweep").await;
    let exps = std::slice::from_ref(&exp);

    // A failed call queues nothing (its claimed markers are deleted again).
    let huge = event("sweep:huge", "u1", "purchase", Some(1e200), T0 + HOUR);
    assert!(store.record_events(exps, &[huge]).await.is_err());
    assert_eq!(queued_hours(&server), Vec::<i64>::new());

    let recorded_at = now_ms();
    let batch: Vec<_> = (0..5)
        .map(|n| {
            event(
                &format!("sweep:{n}"),
                "u1",
                "purchase",
                Some(1.0),
                T0 + HOUR,
            )
        })
        .collect();
    store.record_events(exps, &batch).await.expect("recorded");
    let hours = queued_hours(&server);
    assert_eq!(hours.len(), 1, "{hours:?}");
    let hour = hours[0];
    let queue = format!("{QUEUES}:{hour}");
    let listed = server.cli(&["LRANGE", &queue, "0", "-1"]);
    for event in &batch {
        let marker = format!("touchstone:ev:{}", event.id);
        assert!(exists(&server, &marker), "{marker}");
        assert_eq!(
            server.cli(&["PTTL", &marker]).trim(),
            "-1",
            "{marker} has a TTL"
        );
        assert!(listed.lines().any(|line| line.trim() == marker), "{listed}");
    }

    // The marker must outlive the experiment's dedup window.
    let ttl_ms = marker_ttl_ms(&exp);
    let first_sweepable = (hour + 1) * HOUR;
    assert!(first_sweepable >= recorded_at + ttl_ms + HOUR);

    for not_yet in [now_ms(), recorded_at + ttl_ms, first_sweepable - 1] {
        let now = Timestamp::from_millis(not_yet);
        assert_eq!(store.expire_event_markers(now).await.expect("swept"), 0);
    }
    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(retried.duplicates(), batch.len());

    let now = Timestamp::from_millis(first_sweepable);
    assert_eq!(store.expire_event_markers(now).await.expect("swept"), 5);
    for event in &batch {
        assert!(!exists(&server, &format!("touchstone:ev:{}", event.id)));
    }
    assert!(!exists(&server, &queue));
    assert_eq!(queued_hours(&server), Vec::<i64>::new());
    assert_eq!(store.expire_event_markers(now).await.expect("swept"), 0);
}

#[tokio::test]
async fn sweepers_running_together_delete_a_long_queue_whole_and_once() {
    const EVENTS: usize = 1_234;
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let exp = Arc::new(experiment("long-queue"));
    let exps = std::slice::from_ref(&exp);
    // No unit is exposed: every event is counted by nobody, and still marked.
    let batch: Vec<_> = (0..EVENTS)
        .map(|n| {
            event(
                &format!("long:{n}"),
                &format!("u{n}"),
                "view_item",
                None,
                T0,
            )
        })
        .collect();
    let recorded = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(recorded.accepted(), EVENTS);
    let hours = queued_hours(&server);
    assert_eq!(hours.len(), 1, "{hours:?}");
    let queue = format!("{QUEUES}:{}", hours[0]);
    assert_eq!(server.cli(&["LLEN", &queue]).trim(), EVENTS.to_string());

    let now = Timestamp::from_millis((hours[0] + 1) * HOUR);
    let other = store.clone();
    let (a, b) = tokio::join!(
        store.expire_event_markers(now),
        other.expire_event_markers(now)
    );
    let deleted = a.expect("swept") + b.expect("swept");
    assert_eq!(deleted, EVENTS as u64);
    assert_eq!(
        server.cli(&["DBSIZE"]).trim(),
        "0",
        "{}",
        server.cli(&["KEYS", "*"])
    );
}

/// Queuing the markers is part of the all-or-nothing call: when it fails (here the hour's queue
/// is not a list), no marker and no counting of the batch is kept, and the retry counts once.
#[tokio::test]
async fn a_call_whose_markers_cannot_be_queued_keeps_nothing() {
    let (server, store, exp) = own_redis_with_u1_exposed("unqueued").await;
    let exps = std::slice::from_ref(&exp);
    let batch: Vec<_> = (0..3)
        .map(|n| {
            event(
                &format!("unqueued:{n}"),
                "u1",
                "purchase",
                Some(2.0),
                T0 + HOUR,
            )
        })
        .collect();
    let ttl_ms = marker_ttl_ms(&exp);
    // The call's hour, whichever side of an hour's turn this test runs on.
    let hours = [now_ms(), now_ms() + 60_000].map(|at| (at + ttl_ms).div_euclid(HOUR) + 1);
    for hour in hours {
        server.cli(&["SET", &format!("{QUEUES}:{hour}"), "not a list"]);
    }
    let untouched = aggregates(&store, &exp).await;
    let failed = store.record_events(exps, &batch).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(aggregates(&store, &exp).await, untouched);
    for event in &batch {
        assert!(!exists(&server, &format!("touchstone:ev:{}", event.id)));
    }
    assert_eq!(queued_hours(&server), Vec::<i64>::new());

    for hour in hours {
        server.cli(&["DEL", &format!("{QUEUES}:{hour}")]);
    }
    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(retried.accepted(), batch.len());
    let agg = aggregates(&store, &exp).await;
    assert_eq!(metric(&agg, 0, "purchases"), moments(1, 3.0, 9.0));
}
