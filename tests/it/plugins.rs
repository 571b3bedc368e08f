//! Touchpoint plugins through the real server: uploaded over the admin API, bound to a
//! touchpoint, deciding eligibility, shaping payloads and screening events — and hostile ones
//! contained while the server keeps answering.

use crate::client::{Api, sum_over_variants};
use crate::journey::checkout_experiment;
use serde_json::json;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::plugins::plugin_bytes;

/// A generous wall-clock deadline: CI machines are busy; fuel stays the CPU bound.
const PLUGIN_ENV: &[(&str, &str)] = &[("TOUCHSTONE__PLUGINS__EPOCH_TICKS", "200")];

fn upload(api: &Api, name: &str) -> serde_json::Value {
    let reply = api.put_bytes(&format!("/v1/plugins/{name}"), plugin_bytes(name));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn bind(api: &Api, touchpoint: &str, plugin: &str, config: serde_json::Value) {
    let reply = api.put(
        &format!("/v1/touchpoints/{touchpoint}"),
        &json!({"plugin": plugin, "config": config}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn start_experiment(api: &Api, key: &str, touchpoint: &str) {
    let mut definition = checkout_experiment(key);
    definition["touchpoint"] = json!(touchpoint);
    api.define_and_start(key, &definition);
}

#[test]
fn the_free_shipping_plugin_decides_eligibility_and_shapes_the_payload() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    let uploaded = upload(&api, "checkout-free-shipping");
    assert_eq!(uploaded["hooks"], json!(["eligible", "payload"]));
    bind(
        &api,
        "checkout.shipping",
        "checkout-free-shipping",
        json!({"countries": ["DE", "AT"], "thresholds": {"EUR": 35.0}}),
    );
    start_experiment(&api, "shipping-plugin", "checkout.shipping");

    let fits = json!({"country": "DE", "currency": "EUR", "cart_value": 20.0});
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": "shopper-1", "touchpoint": "checkout.shipping", "attributes": fits}),
    );
    assert_eq!(reply.status, 200);
    let assignment = &reply.body["assignments"][0];
    assert_eq!(assignment["experiment"], "shipping-plugin");
    assert_eq!(assignment["payload"]["missing_amount"], 15.0);
    assert_eq!(assignment["payload"]["currency"], "EUR");
    assert!(
        assignment["payload"]["threshold"].is_number(),
        "the static payload is kept and extended"
    );

    let abroad = json!({"country": "US", "currency": "USD", "cart_value": 20.0});
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": "shopper-2", "touchpoint": "checkout.shipping", "attributes": abroad}),
    );
    assert_eq!(
        reply.body["assignments"],
        json!([]),
        "not eligible: no exposure"
    );

    let results = api.get("/v1/experiments/shipping-plugin/results");
    let units = sum_over_variants(&results.body["variants"], "units");
    assert_eq!(units, 1);
}

#[test]
fn the_event_guard_rejects_bots_and_maps_shop_names_to_stages() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    upload(&api, "event-guard");
    bind(
        &api,
        "_events",
        "event-guard",
        json!({
            "bot_markers": ["bot"], "stages": {"cart_add": "add_to_cart"},
            "currency": "EUR", "rates": {"EUR": 1.0, "USD": 0.5}
        }),
    );
    start_experiment(&api, "guarded", "checkout.shipping");
    api.post(
        "/v1/assign",
        &json!({"unit_id": "human", "touchpoint": "checkout.shipping"}),
    );
    api.post(
        "/v1/assign",
        &json!({"unit_id": "crawler", "touchpoint": "checkout.shipping"}),
    );
    let reply = api.post("/v1/events", &json!({"events": [
        {"id": "h1", "unit_id": "human", "name": "cart_add", "attributes": {"user_agent": "Firefox"}},
        {"id": "h2", "unit_id": "human", "name": "purchase", "value": 100.0, "attributes": {"currency": "USD"}},
        {"id": "c1", "unit_id": "crawler", "name": "cart_add", "attributes": {"user_agent": "Googlebot"}}
    ]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 2);
    assert_eq!(reply.body["errors"][0]["index"], 2);
    assert!(
        reply.body["errors"][0]["error"]
            .as_str()
            .expect("message")
            .contains("bot")
    );
    let results = api.get("/v1/experiments/guarded/results").body;
    let reached = sum_over_variants(&results["stages"][0]["variants"], "reached");
    assert_eq!(
        reached, 1,
        "cart_add was mapped to add_to_cart; the bot was not counted"
    );
    let revenue = results["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "revenue_per_unit")
        .expect("revenue");
    let total: f64 = revenue["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["mean"].as_f64().unwrap_or(0.0) * v["units"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(
        (total - 50.0).abs() < 1e-9,
        "100 USD counted as 50 EUR, got {total}"
    );
}

#[test]
fn hostile_plugins_are_contained_and_the_server_keeps_answering() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    for hostile in [
        "hostile-infinite-loop",
        "hostile-memory-bomb",
        "hostile-deep-recursion",
        "hostile-huge-output",
        "hostile-invalid-json",
        "hostile-unreachable",
    ] {
        upload(&api, hostile);
        let touchpoint = format!("tp.{hostile}");
        bind(&api, &touchpoint, hostile, json!({}));
        start_experiment(&api, hostile, &touchpoint);
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": "u1", "touchpoint": touchpoint}),
        );
        assert_eq!(reply.status, 200, "{hostile}: {}", reply.body);
        assert_eq!(
            reply.body["assignments"],
            json!([]),
            "{hostile}: a failing plugin makes no one eligible"
        );
        assert_eq!(api.get("/healthz").status, 200);
    }
    // Modules the host must refuse at upload, with the reason.
    let forbidden = api.put_bytes(
        "/v1/plugins/forbidden",
        plugin_bytes("hostile-forbidden-import"),
    );
    assert_eq!(forbidden.status, 400);
    assert!(
        forbidden.body["detail"]
            .as_str()
            .expect("detail")
            .contains("env.open"),
        "{}",
        forbidden.body
    );
    let not_wasm = api.put_bytes(
        "/v1/plugins/not-wasm",
        b"definitely not a wasm module".to_vec(),
    );
    assert_eq!(not_wasm.status, 400);
    // Failures are visible to operators.
    let plugins = api.get("/v1/plugins").body;
    let looping = plugins["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["name"] == "hostile-infinite-loop")
        .expect("loaded");
    assert!(!looping["failures"].as_array().expect("failures").is_empty());
    let metrics = api.get_text("/metrics");
    assert!(
        metrics.contains("touchstone_plugin_calls_total"),
        "plugin calls are exported"
    );
}
