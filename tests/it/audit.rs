//! The audit log end to end (issue 10): every admin action — define, start, stop, ship, plugin
//! upload and binding — is kept in Redis with its time, the id of the key that did it (never
//! the key) and what changed, and read back newest first from either server.

use crate::client::Api;
use crate::journey::checkout_experiment;
use crate::redis_backed::eventually;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::plugins::plugin_bytes;
use touchstone_testkit::redis::RedisServer;

const ADMIN_KEY: &str = "audit-admin-key-0123456789";
const OTHER_ADMIN_KEY: &str = "audit-admin-key-abcdefghij";

/// What `access.rs` shows for a key: the first 8 hex digits of its SHA-256.
fn key_id(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn actions(entries: &Value) -> Vec<(String, String)> {
    entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().expect("action").to_owned(),
                entry["key_id"].as_str().expect("key_id").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_admin_action_is_kept_with_its_key_id_and_changes_newest_first() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let keys = format!("{ADMIN_KEY},{OTHER_ADMIN_KEY}");
    let env = [
        ("TOUCHSTONE__STORE__URL", url.as_str()),
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", keys.as_str()),
    ];
    let (a, b) = (TouchstoneServer::start(&env), TouchstoneServer::start(&env));
    let api = Api::with_key(a.base_url(), ADMIN_KEY);
    let other = Api::with_key(b.base_url(), OTHER_ADMIN_KEY);
    let key = "audited";
    let (mine, theirs) = (key_id(ADMIN_KEY), key_id(OTHER_ADMIN_KEY));

    let mut definition = checkout_experiment(key);
    assert_eq!(
        api.put(&format!("/v1/experiments/{key}"), &definition)
            .status,
        201
    );
    assert_eq!(
        api.post(&format!("/v1/experiments/{key}/start"), &json!({}))
            .status,
        200
    );
    definition["variants"][1]["payload"] = json!({"threshold": 30});
    assert_eq!(
        api.put(&format!("/v1/experiments/{key}"), &definition)
            .status,
        200
    );
    let known = eventually(Duration::from_secs(10), || {
        other.get(&format!("/v1/experiments/{key}")).body["variants"][1]["payload"]["threshold"]
            == 30
    });
    assert!(known, "server B never saw the change");
    let shipped = other.post(
        &format!("/v1/experiments/{key}/ship"),
        &json!({"variant": "threshold_35"}),
    );
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    // A refused action changes nothing and is not an entry.
    assert_eq!(
        other
            .post(&format!("/v1/experiments/{key}/start"), &json!({}))
            .status,
        409
    );
    assert_eq!(
        api.put_bytes(
            "/v1/plugins/checkout-free-shipping",
            plugin_bytes("checkout-free-shipping")
        )
        .status,
        200
    );
    // A touchpoint no other test assigns at: bindings live in the shared Redis (decision 019).
    let bound = api.put(
        "/v1/touchpoints/audit.binding",
        &json!({"plugin": "checkout-free-shipping", "config": {"min_cart": 20}}),
    );
    assert_eq!(bound.status, 200, "{}", bound.body);

    // Read from the other server: the log is in Redis, not in a process.
    let log = other.get(&format!("/v1/audit?experiment={key}"));
    assert_eq!(log.status, 200, "{}", log.body);
    assert_eq!(
        actions(&log.body),
        [
            ("ship".to_owned(), theirs.clone()),
            ("define".to_owned(), mine.clone()),
            ("start".to_owned(), mine.clone()),
            ("define".to_owned(), mine.clone()),
        ]
    );
    let entries = log.body["entries"].as_array().expect("entries");
    assert_eq!(
        entries[0]["changes"],
        json!({"status": {"from": "running", "to": "shipped"}, "variant": "threshold_35"})
    );
    // The replaced definition lists exactly the field that moved.
    let changed = entries[1]["changes"].as_object().expect("changes");
    assert_eq!(
        changed.keys().collect::<Vec<_>>(),
        ["variants"],
        "{changed:?}"
    );
    assert_eq!(
        entries[2]["changes"],
        json!({"status": {"from": "draft", "to": "running"}})
    );
    assert_eq!(entries[3]["changes"]["created"]["key"], key);
    // Compared as instants: RFC 3339 text drops trailing zeros of the fraction, so `07.1Z`
    // sorts after `07.12Z` as a string.
    let times: Vec<i64> = entries
        .iter()
        .map(|e| {
            let text = e["at"].as_str().expect("at");
            touchstone_model::Timestamp::parse_rfc3339(text)
                .unwrap_or_else(|error| panic!("`{text}` is not RFC 3339: {error}"))
                .as_millis()
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(times, sorted, "newest first");
    assert!(entries.iter().all(|entry| entry["experiment"] == key));

    let global = api.get("/v1/audit?limit=2");
    assert_eq!(
        actions(&global.body),
        [
            ("plugin_bind".to_owned(), mine.clone()),
            ("plugin_upload".to_owned(), mine.clone())
        ]
    );
    assert_eq!(
        global.body["entries"][0]["changes"]["touchpoint"],
        "audit.binding"
    );
    assert!(global.body["entries"][1]["changes"]["version"].is_string());

    // The keys themselves are nowhere in the log.
    for body in [&log.body, &global.body] {
        let text = body.to_string();
        assert!(!text.contains(ADMIN_KEY) && !text.contains(OTHER_ADMIN_KEY));
    }
    let limited = api.get(&format!("/v1/audit?experiment={key}&limit=1"));
    assert_eq!(limited.body["entries"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_bad_audit_query_is_a_problem_naming_the_field() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=5000", "limit"),
        ("?limit=many", "query"),
        ("?experiment={x}", "experiment"),
        ("?colour=red", "query"),
    ] {
        let reply = api.get(&format!("/v1/audit{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json");
        assert_eq!(reply.body["field"], field, "{query}");
    }
    // Without API keys the actor is `open`.
    api.define_and_start("open-audit", &checkout_experiment("open-audit"));
    let log = api.get("/v1/audit?experiment=open-audit");
    assert_eq!(
        actions(&log.body),
        [
            ("start".to_owned(), "open".to_owned()),
            ("define".to_owned(), "open".to_owned())
        ]
    );
}
