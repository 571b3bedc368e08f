//! Bounded inputs end to end on Redis (issue 15): an event value or attribute number past
//! ±1e15 is refused by index and field while the rest of the batch is counted once; attribute
//! arrays and objects pass only where targeting reads them and never become a slice; the
//! results' own slice names cannot be sent.

use crate::client::{Api, Reply};
use crate::journey::checkout_experiment;
use crate::redis_backed::counts;
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

fn refused(reply: &Reply, field: &str) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["field"], field, "{}", reply.body);
}

#[test]
fn big_numbers_are_refused_per_item_and_attributes_never_make_unbounded_slices() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let key = "bounded-inputs";
    let mut definition = checkout_experiment(key);
    definition["segments"] = json!(["device", "tags"]);
    definition["targeting"] =
        json!([{"attribute": "tags", "op": "not_in", "value": [["blocked"]]}]);
    api.define_and_start(key, &definition);

    let assign = |unit: &str, attributes: Value| {
        api.post(
            "/v1/assign",
            &json!({"unit_id": unit, "touchpoint": "checkout.shipping", "attributes": attributes}),
        )
    };
    // Targeting reads `tags`: a list is accepted for it (and slices as `(other)`).
    let reply = assign("bounded-1", json!({"device": "mobile", "tags": ["vip"]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let variant = reply.body["assignments"][0]["variant"]
        .as_str()
        .expect("assigned")
        .to_owned();
    // Nothing reads `a`: a 100 000-element list would once have become a slice key.
    let big_list: Vec<u32> = (0..100_000).collect();
    refused(&assign("bounded-2", json!({"a": big_list})), "attributes.a");
    refused(&assign("bounded-2", json!({"a": {"b": 1}})), "attributes.a");
    refused(
        &assign("bounded-2", json!({"cart": 1e200})),
        "attributes.cart",
    );
    refused(
        &assign("bounded-2", json!({"device": "(none)"})),
        "attributes.device",
    );
    refused(
        &assign("bounded-2", json!({"device": "(other)"})),
        "attributes.device",
    );
    assert_eq!(assign("bounded-2", json!({"cart": 1e15})).status, 200);

    let big =
        json!({"id": "bounded-big", "unit_id": "bounded-1", "name": "purchase", "value": 1e200});
    let good =
        json!({"id": "bounded-good", "unit_id": "bounded-1", "name": "purchase", "value": 25});
    let reply = api.post("/v1/events", &json!({"events": [big, good]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["index"], 0, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], "value", "{}", reply.body);
    // The refused one is still refused (not a duplicate); the counted one is a duplicate.
    let reply = api.post("/v1/events", &json!({"events": [big, good]}));
    assert_eq!(reply.body["accepted"], 0, "{}", reply.body);
    assert_eq!(reply.body["duplicates"], 1, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["field"], "value", "{}", reply.body);

    assert_eq!(counts(&api, key)[&format!("purchase/{variant}")], 1);
    let index = if variant == "control" { "0" } else { "1" };
    let counter = |field: &str| {
        redis
            .cli(&[
                "HGET",
                &format!("{{exp:{key}}}:p1:agg"),
                &format!("{index}:m:revenue_per_unit:{field}"),
            ])
            .trim()
            .to_owned()
    };
    assert_eq!((counter("s"), counter("q")), ("25".into(), "625".into()));

    let reply = api.get(&format!("/v1/experiments/{key}/results/segments/tags"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let slices: Vec<&str> = reply.body["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|slice| slice["value"].as_str().expect("value"))
        .collect();
    // bounded-1 sent a list (a targeting input): `(other)`; bounded-2 sent no tags: `(none)`.
    assert_eq!(slices, ["(none)", "(other)"], "{}", reply.body);
}
