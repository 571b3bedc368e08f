//! Redis as the system of record, end to end (issue 3): several server processes share one
//! Redis, a restarted server finds everything again, and a Redis outage refuses writes while
//! assignment keeps answering, healing by itself when Redis returns.

use crate::client::{Api, Reply};
use crate::journey::checkout_experiment;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;
pub use touchstone_testkit::eventually;
use touchstone_testkit::redis::{RedisOptions, RedisServer};

/// Defines `key` (the checkout experiment of the journey scenario) and starts it.
pub fn define_and_start(api: &Api, key: &str) {
    let reply = api.put(&format!("/v1/experiments/{key}"), &checkout_experiment(key));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = api.post(&format!("/v1/experiments/{key}/start"), &json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Assigns `unit` at the checkout touchpoint: (variant in experiment `key`, exposures_recorded).
/// Other experiments running at the same touchpoint are ignored.
pub fn assign(api: &Api, key: &str, unit: &str) -> (String, bool) {
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": unit, "touchpoint": "checkout.shipping"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let variant = reply.body["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|assignment| assignment["experiment"] == key)
        .unwrap_or_else(|| panic!("{unit} is assigned in {key}: {}", reply.body))["variant"]
        .as_str()
        .expect("variant key")
        .to_owned();
    let recorded = reply.body["exposures_recorded"]
        .as_bool()
        .expect("exposures_recorded");
    (variant, recorded)
}

/// The counts of a results document, flattened: `units/VARIANT` and `STAGE/VARIANT` → units.
pub fn counts(api: &Api, key: &str) -> BTreeMap<String, u64> {
    let reply = api.get(&format!("/v1/experiments/{key}/results"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut counts = BTreeMap::new();
    for variant in reply.body["variants"].as_array().expect("variants") {
        let name = variant["key"].as_str().expect("variant key");
        counts.insert(
            format!("units/{name}"),
            variant["units"].as_u64().expect("units"),
        );
    }
    for stage in reply.body["stages"].as_array().expect("stages") {
        let stage_name = stage["stage"].as_str().expect("stage name");
        for variant in stage["variants"].as_array().expect("stage variants") {
            let name = variant["key"].as_str().expect("variant key");
            let reached = variant["reached"].as_u64().expect("reached");
            counts.insert(format!("{stage_name}/{name}"), reached);
        }
    }
    counts
}

fn add_to_cart(id: &str, unit: &str) -> Value {
    json!({"id": id, "unit_id": unit, "name": "add_to_cart"})
}

fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], code, "{}", reply.body);
}

#[test]
fn two_servers_on_one_redis_share_definitions_assignments_and_counts() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let env = [("TOUCHSTONE__STORE__URL", url.as_str())];
    let (a, b) = (TouchstoneServer::start(&env), TouchstoneServer::start(&env));
    let (api_a, api_b) = (Api::new(a.base_url()), Api::new(b.base_url()));
    let key = "two-servers";
    define_and_start(&api_a, key);
    // B learns of A's change through the definitions version (refresh every 500 ms).
    let seen = eventually(Duration::from_secs(10), || {
        api_b.get(&format!("/v1/experiments/{key}")).body["status"] == "running"
    });
    assert!(seen, "server B never saw the experiment server A started");

    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut events = Vec::new();
    for unit in 0..500 {
        let unit_id = format!("two-servers-{unit}");
        // Alternate which server sees the unit first, so both record first exposures.
        let (first, second) = if unit % 2 == 0 {
            (&api_a, &api_b)
        } else {
            (&api_b, &api_a)
        };
        let (variant, recorded) = assign(first, key, &unit_id);
        assert!(recorded);
        assert_eq!(assign(second, key, &unit_id).0, variant, "{unit_id}");
        *expected.entry(format!("units/{variant}")).or_default() += 1;
        if unit % 3 != 0 {
            *expected
                .entry(format!("add_to_cart/{variant}"))
                .or_default() += 1;
            events.push(add_to_cart(&format!("{unit_id}-cart"), &unit_id));
            if unit % 4 == 0 {
                *expected.entry(format!("purchase/{variant}")).or_default() += 1;
                events.push(json!({"id": format!("{unit_id}-buy"), "unit_id": unit_id, "name": "purchase", "value": 40.0}));
            }
        }
    }
    for (index, batch) in events.chunks(40).enumerate() {
        let api = if index % 2 == 0 { &api_a } else { &api_b };
        let reply = api.post("/v1/events", &json!({ "events": batch }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["accepted"], batch.len(), "{}", reply.body);
    }
    let on_a = counts(&api_a, key);
    for (name, count) in &expected {
        assert_eq!(on_a.get(name), Some(count), "{name} on server A: {on_a:?}");
    }
    assert_eq!(
        on_a,
        counts(&api_b, key),
        "both servers report the same counts"
    );

    // A change made on B reaches A the same way: stopped there, A enrolls no one.
    let reply = api_b.post(&format!("/v1/experiments/{key}/stop"), &json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let stopped = eventually(Duration::from_secs(10), || {
        let reply = api_a.post(
            "/v1/assign",
            &json!({"unit_id": "two-servers-late", "touchpoint": "checkout.shipping"}),
        );
        reply.status == 200 && !reply.body["assignments"].to_string().contains(key)
    });
    assert!(
        stopped,
        "server A kept assigning in an experiment stopped on B"
    );
}

#[test]
fn a_restarted_server_loads_definitions_back_and_its_results_persist() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let env = [("TOUCHSTONE__STORE__URL", url.as_str())];
    let key = "restarted-server";
    let first = TouchstoneServer::start(&env);
    let api = Api::new(first.base_url());
    define_and_start(&api, key);
    let mut variants = Vec::new();
    let mut events = Vec::new();
    for unit in 0..40 {
        let unit_id = format!("restart-{unit}");
        variants.push(assign(&api, key, &unit_id).0);
        if unit % 2 == 0 {
            events.push(add_to_cart(&format!("{unit_id}-cart"), &unit_id));
        }
    }
    let reply = api.post("/v1/events", &json!({ "events": events }));
    assert_eq!(reply.body["accepted"], 20, "{}", reply.body);
    let before = counts(&api, key);
    drop(first);

    let second = TouchstoneServer::start(&env);
    let api = Api::new(second.base_url());
    assert_eq!(
        api.get(&format!("/v1/experiments/{key}")).body["status"],
        "running"
    );
    assert_eq!(counts(&api, key), before);
    assert_eq!(before.values().sum::<u64>(), 40 + 20);
    for (unit, variant) in variants.iter().enumerate() {
        assert_eq!(&assign(&api, key, &format!("restart-{unit}")).0, variant);
    }
    let retry = api.post("/v1/events", &json!({ "events": events }));
    assert_eq!(
        retry.body["duplicates"], 20,
        "event ids survive the restart"
    );
    assert_eq!(counts(&api, key), before, "re-assigning moved no counter");
}

#[test]
fn a_redis_outage_refuses_writes_keeps_assigning_and_heals_without_a_restart() {
    // appendfsync always: what Redis acknowledged before SIGKILL is there after restart.
    let redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        fsync_always: true,
        ..RedisOptions::default()
    });
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let key = "outage";
    define_and_start(&api, key);
    let (early_variant, recorded) = assign(&api, key, "outage-early");
    assert!(recorded);

    redis.kill();
    assert_problem(&api.get("/readyz"), 503, "store_unavailable");
    let lost_event = add_to_cart("outage-early-cart", "outage-early");
    for _ in 0..3 {
        let reply = api.post("/v1/events", &json!({ "events": [lost_event] }));
        assert_problem(&reply, 503, "store_unavailable");
    }
    let reply = api.put(
        "/v1/experiments/outage-new",
        &checkout_experiment("outage-new"),
    );
    assert_problem(&reply, 503, "store_unavailable");
    assert_eq!(
        assign(&api, key, "outage-early"),
        (early_variant.clone(), false)
    );
    let late: Vec<String> = (0..20)
        .map(|unit| {
            let (variant, recorded) = assign(&api, key, &format!("outage-late-{unit}"));
            assert!(!recorded, "nothing is recorded while Redis is down");
            variant
        })
        .collect();
    assert_eq!(
        api.get("/healthz").status,
        200,
        "the process itself is fine"
    );
    let metrics = api.get("/metrics").body;
    let metrics = metrics.as_str().expect("Prometheus text");
    let failed_writes = metrics.lines().find(|line| {
        line.starts_with("touchstone_store_errors_total{operation=\"record_events\"}")
    });
    assert!(
        failed_writes.is_some_and(|line| line.ends_with(" 3")),
        "{metrics}"
    );

    redis.restart();
    let ready = eventually(Duration::from_secs(15), || api.get("/readyz").status == 200);
    assert!(ready, "readyz never recovered:\n{}", server.logs());
    // The refused event left no de-duplication marker behind: its retry counts.
    let reply = api.post("/v1/events", &json!({ "events": [lost_event] }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    for (unit, variant) in late.iter().enumerate() {
        let again = assign(&api, key, &format!("outage-late-{unit}"));
        assert_eq!(
            again,
            (variant.clone(), true),
            "the same variant, now recorded"
        );
    }
    let counts = counts(&api, key);
    let units: u64 = counts
        .iter()
        .filter(|(name, _)| name.starts_with("units/"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(units, 21, "{counts:?}");
    assert_eq!(counts[&format!("add_to_cart/{early_variant}")], 1);
}
