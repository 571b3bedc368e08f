//! Input bounds (issue 6): bodies, batches, attribute lists, nesting, strings and variant
//! payloads past their configured limits are refused with a problem naming the limit.

use crate::client::{Api, Reply};
use serde_json::{Map, Value, json};
use touchstone_testkit::binary::TouchstoneServer;

/// A 413 problem naming `limit` (the configuration key to raise).
fn assert_limit(reply: &Reply, limit: &str) {
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], "limit_exceeded", "{}", reply.body);
    assert_eq!(reply.body["field"], limit, "{}", reply.body);
}

#[test]
fn requests_past_a_configured_limit_get_413_naming_the_limit() {
    let server = TouchstoneServer::start(&[
        ("TOUCHSTONE__SERVER__MAX_BODY_BYTES", "4096"),
        ("TOUCHSTONE__EVENTS__MAX_BATCH", "10"),
        ("TOUCHSTONE__ASSIGN__MAX_ATTRIBUTES", "5"),
    ]);
    let api = Api::new(server.base_url());
    // Small enough to sit in socket buffers, so the client finishes writing and reads the answer.
    let padding = "x".repeat(5000);
    let oversized = json!({"unit_id": "u", "touchpoint": "pdp", "attributes": {"note": padding}});
    assert_limit(&api.post("/v1/assign", &oversized), "server.max_body_bytes");
    assert_limit(
        &api.post("/v1/events", &json!({"events": [], "padding": padding})),
        "server.max_body_bytes",
    );
    let mut definition = crate::journey::checkout_experiment("too-big");
    definition["description"] = json!(padding);
    assert_limit(
        &api.put("/v1/experiments/too-big", &definition),
        "server.max_body_bytes",
    );

    let event = |n: usize| json!({"id": format!("e{n}"), "unit_id": "u", "name": "add_to_cart"});
    let at_limit: Vec<Value> = (0..10).map(event).collect();
    assert_eq!(
        api.post("/v1/events", &json!({"events": at_limit})).status,
        200
    );
    let past: Vec<Value> = (0..11).map(event).collect();
    assert_limit(
        &api.post("/v1/events", &json!({"events": past})),
        "events.max_batch",
    );

    let attributes =
        |n: usize| -> Map<String, Value> { (0..n).map(|i| (format!("a{i}"), json!(i))).collect() };
    let assign = |n| json!({"unit_id": "u", "touchpoint": "pdp", "attributes": attributes(n)});
    assert_eq!(api.post("/v1/assign", &assign(5)).status, 200);
    assert_limit(&api.post("/v1/assign", &assign(6)), "assign.max_attributes");
    assert_eq!(api.get("/healthz").status, 200);
}

#[test]
fn deep_nesting_long_strings_and_big_payloads_are_refused_naming_the_limit() {
    let server = TouchstoneServer::start(&[
        ("TOUCHSTONE__LIMITS__MAX_JSON_DEPTH", "8"),
        ("TOUCHSTONE__LIMITS__MAX_STRING_BYTES", "64"),
        ("TOUCHSTONE__LIMITS__MAX_PAYLOAD_BYTES", "512"),
    ]);
    let api = Api::new(server.base_url());
    let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!([inner]));
    let assign =
        |attributes: Value| json!({"unit_id": "u", "touchpoint": "pdp", "attributes": attributes});
    // Depth counts the body's own object: {attributes: {a: [[…]]}} is 2 + levels deep. At the
    // limit the body parses; the list is then refused as an attribute no targeting reads
    // (400 naming it), not for its depth.
    let reply = api.post("/v1/assign", &assign(json!({"a": nested(6)})));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["field"], "attributes.a", "{}", reply.body);
    assert_limit(
        &api.post("/v1/assign", &assign(json!({"a": nested(7)}))),
        "limits.max_json_depth",
    );
    assert_limit(
        &api.post("/v1/events", &json!({"events": [nested(7)]})),
        "limits.max_json_depth",
    );
    let definition = |key: &str, payload: Value| {
        let mut definition = crate::journey::checkout_experiment(key);
        definition["variants"][1]["payload"] = payload;
        definition
    };
    // {variants: [{payload: …}]} is 3 + the payload's own depth.
    let reply = api.put("/v1/experiments/deep-ok", &definition("deep-ok", nested(5)));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = api.put(
        "/v1/experiments/too-deep",
        &definition("too-deep", nested(6)),
    );
    assert_limit(&reply, "limits.max_json_depth");

    // Strings and payloads are refused as the bad field they are, naming the limit.
    let long = |bytes: usize| "k".repeat(bytes);
    let named = |reply: &Reply, status: u16, field: &str, limit: &str| {
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json");
        let (problem, text) = if status == 422 {
            (&reply.body["errors"][0], "message")
        } else {
            (&reply.body, "detail")
        };
        assert_eq!(problem["field"], field, "{}", reply.body);
        let text = problem[text].as_str().expect("a message");
        assert!(text.contains(limit), "{}", reply.body);
    };
    let at_limit = assign(json!({ long(64): long(64) }));
    assert_eq!(api.post("/v1/assign", &at_limit).status, 200);
    let reply = api.post("/v1/assign", &assign(json!({ long(65): 1 })));
    named(&reply, 400, "attributes", "limits.max_string_bytes");
    let reply = api.post("/v1/assign", &assign(json!({"a": long(65)})));
    named(&reply, 400, "attributes.a", "limits.max_string_bytes");
    let payload = |bytes| json!({"blob": long(bytes)});
    let reply = api.put(
        "/v1/experiments/payload-ok",
        &definition("payload-ok", payload(400)),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = api.put(
        "/v1/experiments/payload-big",
        &definition("payload-big", payload(600)),
    );
    named(
        &reply,
        422,
        "variants[1].payload",
        "limits.max_payload_bytes",
    );
    assert_eq!(
        api.get("/v1/experiments/payload-big").status,
        404,
        "nothing was saved"
    );
}
