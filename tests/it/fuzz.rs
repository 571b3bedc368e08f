//! Random JSON thrown at the request decoders and at experiment validation (issue 6) only ever
//! gets a 2xx or a problem+json 4xx: never a crash, a 5xx or a plain-text error.

use crate::client::{Api, Reply};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

/// Field names the decoders know, so random documents often get past the first check.
const KEYS: &[&str] = &[
    "unit_id",
    "touchpoint",
    "attributes",
    "enroll",
    "events",
    "id",
    "name",
    "value",
    "timestamp",
    "key",
    "description",
    "traffic",
    "variants",
    "weight",
    "payload",
    "control",
    "journey",
    "value_event",
    "conversion_window_hours",
    "targeting",
    "status",
    "salt",
    "metrics",
    "segments",
    "alpha",
    "power",
    "attribute",
    "op",
    "kind",
    "event",
    "window_hours",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{1,8}",
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(Value::from),
        prop::sample::select(&[0.0, 0.5, 1.0, -1.0, 1e308, 5e-324][..]).prop_map(Value::from),
        prop::sample::select(KEYS).prop_map(Value::from),
        prop::sample::select(&["running", "draft", "control", "add_to_cart", "purchase"][..])
            .prop_map(Value::from),
        ".{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// The JSON pointer of every node under the root of `value`.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (format!("{at}/{k}"), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{at}/{i}"), v))
            .collect(),
        _ => Vec::new(),
    };
    for (pointer, child) in children {
        out.push(pointer.clone());
        pointers(child, &pointer, out);
    }
}

/// What one mutation puts in place of the node it picks.
#[derive(Debug, Clone)]
enum Replacement {
    Remove,
    Number(f64),
    Text(String),
    Any(Value),
}

/// Strings the definition already uses, so a swap can break a cross-reference.
const WORDS: &[&str] = &[
    "",
    "control",
    "threshold_35",
    "add_to_cart",
    "purchase",
    "running",
];

fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        1 => Just(Replacement::Remove),
        3 => prop_oneof![
            prop::sample::select(&[0.0, 0.5, 1.0, 1.5, -1.0, 1e308, 5e-324, -0.0][..]),
            prop::num::f64::NORMAL,
        ]
        .prop_map(Replacement::Number),
        2 => prop_oneof![
            prop::sample::select(WORDS).prop_map(str::to_owned),
            "[a-z_.]{0,12}",
            ".{0,300}",
        ]
        .prop_map(Replacement::Text),
        2 => json_value().prop_map(Replacement::Any),
    ]
}

/// A valid request with one node (a field, an element, a nested weight) replaced.
fn mutated(mut valid: Value, pick: &Index, replacement: &Replacement) -> Value {
    let mut all = Vec::new();
    pointers(&valid, "", &mut all);
    let pointer = &all[pick.index(all.len())];
    let new = match replacement {
        Replacement::Remove => {
            let (parent, last) = pointer.rsplit_once('/').expect("pointers start with /");
            if let Some(Value::Object(object)) = valid.pointer_mut(parent) {
                object.remove(last);
                return valid;
            }
            Value::Null
        }
        Replacement::Number(number) => json!(number),
        Replacement::Text(text) => json!(text),
        Replacement::Any(value) => value.clone(),
    };
    if let Some(node) = valid.pointer_mut(pointer) {
        *node = new;
    }
    valid
}

/// A 2xx, or a 4xx problem document that names its own status; never a 5xx.
fn well_behaved(what: &str, reply: &Reply) -> Result<(), TestCaseError> {
    let status = reply.status;
    prop_assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "{what}: {status} {}",
        reply.body
    );
    if status >= 400 {
        prop_assert_eq!(
            &reply.content_type,
            "application/problem+json",
            "{}: {}",
            what,
            reply.body
        );
        prop_assert!(reply.body["code"].is_string(), "{what}: {}", reply.body);
        prop_assert_eq!(reply.body["status"].as_u64(), Some(u64::from(status)));
    }
    Ok(())
}

#[test]
fn random_json_at_the_decoders_gets_only_2xx_or_problem_json_4xx() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let valid_assign = json!({"unit_id": "fuzz-u", "touchpoint": "fuzz.touchpoint", "attributes": {"country": "DE"}});
    let valid_events = json!({"events": [{"id": "fuzz-e", "unit_id": "fuzz-u", "name": "add_to_cart", "value": 1.0}]});
    let mut valid_definition = crate::journey::checkout_experiment("fuzz-x");
    valid_definition["touchpoint"] = json!("fuzz.touchpoint");
    valid_definition
        .as_object_mut()
        .map(|object| object.remove("key"));
    let case = (
        json_value(),
        any::<Index>(),
        replacement(),
        "fuzz-[a-zA-Z0-9_-]{1,40}",
        prop::collection::vec(any::<u8>(), 0..64),
    );
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case, |(noise, pick, replacement, experiment, garbage)| {
        let define = format!("/v1/experiments/{experiment}");
        for (what, reply) in [
            ("assign noise", api.post("/v1/assign", &noise)),
            ("events noise", api.post("/v1/events", &noise)),
            ("define noise", api.put(&define, &noise)),
            (
                "assign mutated",
                api.post(
                    "/v1/assign",
                    &mutated(valid_assign.clone(), &pick, &replacement),
                ),
            ),
            (
                "events mutated",
                api.post(
                    "/v1/events",
                    &mutated(valid_events.clone(), &pick, &replacement),
                ),
            ),
            (
                "define mutated",
                api.put(
                    &define,
                    &mutated(valid_definition.clone(), &pick, &replacement),
                ),
            ),
            (
                "events raw",
                api.send_raw(
                    Method::POST,
                    "/v1/events",
                    "application/json",
                    &String::from_utf8_lossy(&garbage),
                ),
            ),
            (
                "define toml",
                api.send_raw(
                    Method::PUT,
                    &define,
                    "application/toml",
                    &String::from_utf8_lossy(&garbage),
                ),
            ),
        ] {
            well_behaved(what, &reply)?;
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}\nserver log:\n{}", server.logs());
    }
    // Unknown routes (404) and known paths with another method (405, with `Allow`) answer a
    // problem document too.
    for (method, path, status, allow) in [
        (Method::GET, "/nowhere", 404, None),
        (Method::GET, "/v1/assign", 405, Some("POST")),
        (
            Method::DELETE,
            "/v1/experiments/fuzz-x",
            405,
            Some("GET, PUT"),
        ),
    ] {
        let reply = api.send_raw(method.clone(), path, "application/json", "");
        assert_eq!(reply.status, status, "{method} {path}");
        well_behaved(path, &reply).expect("a problem document");
        assert_eq!(reply.header("allow").as_deref(), allow, "{method} {path}");
        if status == 405 {
            assert_eq!(reply.body["code"], "method_not_allowed");
        }
    }
    assert_eq!(api.get("/healthz").status, 200);
    assert_eq!(api.get("/readyz").status, 200);
    assert_eq!(api.post("/v1/assign", &valid_assign).status, 200);
}

/// One random mangling of a path: some bytes percent-encoded (some twice, some in lower-case
/// hex), slashes doubled or dotted, a trailing slash.
fn mangle(path: &str, picks: &[u8]) -> String {
    let mut out = String::new();
    for (at, byte) in path.bytes().enumerate() {
        let pick = picks.get(at % picks.len().max(1)).copied().unwrap_or(0);
        match (byte, pick % 8) {
            (b'/', 0) => out.push_str("//"),
            (b'/', 1) => out.push_str("/./"),
            (b'/', _) => out.push('/'),
            (_, 0) => out.push_str(&format!("%{byte:02X}")),
            (_, 1) => out.push_str(&format!("%25{byte:02X}")),
            (_, 2) => out.push_str(&format!("%{byte:02x}")),
            (_, _) => out.push(char::from(byte)),
        }
    }
    if picks.first().is_some_and(|pick| pick % 3 == 0) {
        out.push('/');
    }
    out
}

fn header_noise() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,40}",
        Just("Bearer ".to_owned()),
        "Bearer [ -~]{0,40}",
        "touchstone_session=[0-9a-f]{0,64}",
        Just("same-origin".to_owned()),
        Just("null".to_owned()),
        "https?://[a-z0-9.:]{0,20}",
    ]
}

/// The path and header decoders (issue 15): random manglings of every protected route, with
/// random Authorization, Cookie, Origin, Sec-Fetch-Site and Content-Type values, against a
/// server with keys: never a 2xx, never a 5xx, every refusal a problem (or a page's redirect to
/// sign in).
#[test]
fn mangled_paths_and_headers_never_open_a_protected_route() {
    use touchstone_server::access::Access;
    use touchstone_server::routes::ROUTES;
    let redis = RedisServer::shared();
    let url = redis.url();
    let server = TouchstoneServer::start(&[
        ("TOUCHSTONE__STORE__URL", url.as_str()),
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", "admin-key-fuzz-0123456789"),
        (
            "TOUCHSTONE__AUTH__CLIENT_KEYS",
            "client-key-fuzz-0123456789",
        ),
        ("TOUCHSTONE__AUTH__FAILED_ATTEMPTS_PER_MINUTE", "0"),
    ]);
    let protected: Vec<_> = ROUTES
        .iter()
        .filter(|route| route.access != Access::Open)
        .collect();
    let case = (
        any::<Index>(),
        prop::collection::vec(any::<u8>(), 1..16),
        [
            header_noise(),
            header_noise(),
            header_noise(),
            header_noise(),
            header_noise(),
        ],
    );
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case, |(pick, picks, headers)| {
        let route = protected[pick.index(protected.len())];
        let path = mangle(
            &route
                .path
                .replace("{key}", "fz")
                .replace("{attribute}", "device")
                .replace("{name}", "fz"),
            &picks,
        );
        let sent: Vec<(&str, &str)> = [
            "authorization",
            "cookie",
            "origin",
            "sec-fetch-site",
            "content-type",
        ]
        .into_iter()
        .zip(headers.iter().map(String::as_str))
        .filter(|(_, value)| !value.is_empty())
        .collect();
        let reply = crate::attacks::raw(server.port(), route.method, &path, &sent, b"{}");
        let (status, content_type) = (reply.status, reply.content_type);
        prop_assert!(
            (300..500).contains(&status),
            "{} {path} {headers:?} → {status}",
            route.method
        );
        // A path the router matched to an OFREP route answers the spec's error body
        // (`application/json`); every other refusal is a problem document.
        let ofrep = route.path.starts_with("/ofrep/") && content_type == "application/json";
        prop_assert!(
            status == 303 || ofrep || content_type == "application/problem+json",
            "{} {path} → {status} {content_type}",
            route.method
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}\nserver log:\n{}", server.logs());
    }
}
