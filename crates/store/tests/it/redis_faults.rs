//! Redis going away: acknowledged writes survive SIGKILL with `appendfsync always`, calls
//! fail with `Unavailable` (never a panic or a hang) and the store reconnects by itself.

use crate::fixtures::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use touchstone_store::{RedisStore, Store, StoreError};
use touchstone_testkit::redis::{RedisCluster, RedisOptions, RedisServer};

/// Retries `ping` until Redis answers again; the bound only keeps a broken build from hanging.
async fn until_reconnected(store: &dyn Store) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the store never reconnected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// More than the writer can reach before the kill, so the kill always lands mid-load.
const MAX_UNITS: usize = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_exposure_survives_a_sigkill_with_appendfsync_always() {
    let server = Arc::new(RedisServer::start_with(RedisOptions {
        appendonly: true,
        fsync_always: true,
        ..RedisOptions::default()
    }));
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url()).await.expect("url"));
    let exp = Arc::new(experiment("restart"));
    // The writer counts its own acknowledgements, so the kill lands mid-load however the
    // scheduler runs the two tasks (polling the counters from outside once raced a fast
    // writer to the end of its units on a loaded CI machine).
    let acknowledged_so_far = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (store, exp, so_far) = (store.clone(), exp.clone(), acknowledged_so_far.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for unit in 0..MAX_UNITS {
                let exposure = touchstone_store::Exposure {
                    unit_id: format!("u{unit}"),
                    variant: unit % 2,
                    at: touchstone_model::Timestamp::from_millis(T0),
                    segments: Default::default(),
                    plugin_version: None,
                    covariates: Default::default(),
                };
                match store.record_exposure(&exp, &exposure).await {
                    Ok(_) => {
                        acknowledged.push(exposure.unit_id);
                        so_far.store(acknowledged.len(), Ordering::Relaxed);
                    }
                    Err(StoreError::Unavailable(_)) => break,
                    Err(other) => panic!("unexpected error {other}"),
                }
            }
            acknowledged
        })
    };
    // Kill mid-load: once a few hundred writes are acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged_so_far.load(Ordering::Relaxed) < 300 {
        assert!(Instant::now() < deadline, "the writer never got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let acknowledged = writer.await.expect("writer finished");
    assert!(
        acknowledged.len() >= 300 && acknowledged.len() < MAX_UNITS,
        "{} acknowledged: the kill did not land mid-load",
        acknowledged.len()
    );
    server.restart();
    until_reconnected(&*store).await;
    let units: u64 = aggregates(&*store, &exp)
        .await
        .variants
        .iter()
        .map(|v| v.units)
        .sum();
    assert!(
        units >= acknowledged.len() as u64,
        "{units} < {}",
        acknowledged.len()
    );
    for unit in &acknowledged {
        let found = store
            .find_exposures(unit, std::slice::from_ref(&exp))
            .await
            .expect("read");
        assert!(found[0].is_some(), "acknowledged exposure of {unit} lost");
    }
}

#[tokio::test]
async fn a_killed_redis_makes_calls_unavailable_and_the_store_reconnects_after_restart() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let exp = experiment("unavailable");
    store.ping().await.expect("redis answers");
    server.kill();
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    let exposure = touchstone_store::Exposure {
        unit_id: "u1".into(),
        variant: 0,
        at: touchstone_model::Timestamp::from_millis(T0),
        segments: Default::default(),
        plugin_version: None,
        covariates: Default::default(),
    };
    assert!(matches!(
        store.record_exposure(&exp, &exposure).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.load_aggregates(&exp).await,
        Err(StoreError::Unavailable(_))
    ));
    server.restart();
    until_reconnected(&store).await;
    assert!(
        store
            .record_exposure(&exp, &exposure)
            .await
            .expect("recorded")
            .new
    );
}

#[tokio::test]
async fn a_store_opened_while_redis_is_down_answers_unavailable_without_panicking() {
    let server = RedisServer::start();
    let url = server.url();
    server.kill();
    let store = touchstone_store::open(&url)
        .await
        .expect("a down Redis is not a config error");
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    server.restart();
    until_reconnected(&*store).await;
}

#[tokio::test]
async fn a_stored_definition_that_fails_validation_is_reported_corrupt() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    store
        .save_definition(&experiment("valid"))
        .await
        .expect("saved");
    server.cli(&[
        "HSET",
        "{touchstone}:defs",
        "broken",
        r#"{"key":"broken","touchpoint":"x","variants":[],"journey":[]}"#,
    ]);
    assert!(matches!(
        store.load_definitions().await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn an_unknown_store_url_is_a_configuration_error() {
    assert!(matches!(
        touchstone_store::open("postgres://localhost").await,
        Err(StoreError::Config(_))
    ));
}

/// On a Cluster the markers are written after the counting calls (they live on other slots), so
/// a request can fail between the two; the experiment's own seen-ids then keep the retry from
/// counting again. (On a single Redis the marker is claimed inside the counting call itself, so
/// this state cannot arise there, and no seen-id is written.)
#[tokio::test]
async fn a_batch_retried_after_its_markers_were_lost_counts_nothing_twice() {
    let cluster = RedisCluster::shared();
    let store = RedisStore::connect(&cluster.url()).await.expect("url");
    let exp = Arc::new(experiment("partial-failure"));
    expose(&store, &exp, "u1", 0, T0).await;
    let id = format!("{}:p1", exp.key());
    let batch = [event(&id, "u1", "purchase", Some(12.0), T0 + HOUR)];
    let exps = std::slice::from_ref(&exp);
    store.record_events(exps, &batch).await.expect("recorded");
    // As if the request failed after counting but before writing the global marker; the node
    // that does not hold it answers MOVED.
    let marker = format!("touchstone:ev:{id}");
    let deleted: usize = cluster
        .nodes()
        .iter()
        .map(|node| usize::from(node.cli(&["DEL", &marker]).trim() == "1"))
        .sum();
    assert_eq!(deleted, 1, "the marker was written on one node");
    let retried = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(
        retried.outcomes,
        vec![touchstone_store::EventOutcome::Accepted { counted: 1 }]
    );
    let agg = aggregates(&store, &exp).await;
    assert_eq!(metric(&agg, 0, "revenue_per_unit"), moments(1, 12.0, 144.0));
    assert_eq!(stage(&agg, 0, "purchase").reached, 1);
}

/// A Redis that forgot the scripts (a restart without persistence, `SCRIPT FLUSH`) answers
/// `NOSCRIPT`; the store loads the script and the call goes through, counted once.
#[tokio::test]
async fn scripts_forgotten_by_redis_are_loaded_again() {
    // Its own server: the flush would reach the other tests' scripts on a shared one.
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("url");
    let exp = Arc::new(experiment("forgotten-scripts"));
    expose(&store, &exp, "u1", 0, T0).await;
    server.cli(&["SCRIPT", "FLUSH"]);
    let id = format!("{}:1", exp.key());
    let batch = [event(&id, "u1", "purchase", Some(5.0), T0 + HOUR)];
    let exps = std::slice::from_ref(&exp);
    let recorded = store.record_events(exps, &batch).await.expect("recorded");
    assert_eq!(recorded.accepted(), 1);
    assert_eq!(
        metric(&aggregates(&store, &exp).await, 0, "revenue_per_unit"),
        moments(1, 5.0, 25.0)
    );
}
