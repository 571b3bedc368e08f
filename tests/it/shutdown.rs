//! Graceful shutdown (issue 6): SIGTERM in the middle of a load of event batches lets in-flight
//! requests finish, exits 0, and every batch acknowledged with a 200 is in Redis afterwards.

use crate::client::Api;
use crate::operations::http;
use crate::redis_backed::{assign, counts, define_and_start};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::{RedisOptions, RedisServer};

/// Posts each event batch in turn; returns the indexes of those answered 200. Stops at the
/// first transport error: the listener is closed, the server is going away.
fn post_until_refused(base: &str, bodies: Vec<Value>, acknowledged: &AtomicUsize) -> Vec<usize> {
    let client = http();
    let mut acked = Vec::new();
    for (batch, body) in bodies.iter().enumerate() {
        match client.post(format!("{base}/v1/events")).json(body).send() {
            Ok(response) if response.status() == 200 => {
                acked.push(batch);
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    acked
}

#[test]
fn sigterm_under_load_exits_zero_and_loses_no_acknowledged_event() {
    let redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        ..RedisOptions::default()
    });
    let url = redis.url();
    let env = [
        ("TOUCHSTONE__STORE__URL", url.as_str()),
        ("TOUCHSTONE__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "10"),
    ];
    let mut server = TouchstoneServer::start(&env);
    let api = Api::new(server.base_url());
    let key = "shutdown-load";
    define_and_start(&api, key);
    const THREADS: usize = 4;
    const BATCHES: usize = 40;
    const BATCH: usize = 10;
    let unit = |thread: usize, batch: usize, event: usize| format!("sd-{thread}-{batch}-{event}");
    for thread in 0..THREADS {
        for batch in 0..BATCHES {
            for event in 0..BATCH {
                assign(&api, key, &unit(thread, batch, event));
            }
        }
    }
    let batch_body = |thread: usize, batch: usize| {
        let events: Vec<Value> = (0..BATCH)
            .map(|event| json!({"id": format!("{}-cart", unit(thread, batch, event)), "unit_id": unit(thread, batch, event), "name": "add_to_cart"}))
            .collect();
        json!({ "events": events })
    };
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let bodies = (0..BATCHES)
                .map(|batch| batch_body(thread, batch))
                .collect();
            let (base, acknowledged) = (server.base_url(), Arc::clone(&acknowledged));
            std::thread::spawn(move || post_until_refused(&base, bodies, &acknowledged))
        })
        .collect();
    // Signal once the load is well under way (or, bounded, once it ended by itself).
    while acknowledged.load(Ordering::SeqCst) < 12 && !workers.iter().all(|w| w.is_finished()) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let at_signal = acknowledged.load(Ordering::SeqCst);
    let status = server
        .terminate(Duration::from_secs(30))
        .expect("the server exits after SIGTERM");
    let acked: Vec<Vec<usize>> = workers
        .into_iter()
        .map(|w| w.join().expect("load thread"))
        .collect();
    assert!(status.success(), "exit status {status}:\n{}", server.logs());
    let total_acked: usize = acked.iter().map(Vec::len).sum();
    assert!(
        at_signal < THREADS * BATCHES,
        "SIGTERM came while load was running"
    );
    assert!(total_acked >= at_signal);

    let fresh = TouchstoneServer::start(&env);
    let api = Api::new(fresh.base_url());
    let reached: u64 = counts(&api, key)
        .iter()
        .filter(|(name, _)| name.starts_with("add_to_cart/"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        reached as usize >= total_acked * BATCH,
        "reached {reached}, acknowledged {}",
        total_acked * BATCH
    );
    for (thread, batches) in acked.iter().enumerate() {
        for &batch in batches {
            let reply = api.post("/v1/events", &batch_body(thread, batch));
            assert_eq!(
                reply.body["duplicates"], BATCH,
                "batch {thread}/{batch}: {}",
                reply.body
            );
        }
    }
}
