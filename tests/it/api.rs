//! The API's contract at its edges: definitions, status changes, enrollment rules and clear
//! problem+json errors for bad input.

use crate::app::TestApp;
use crate::client::{Api, sum_over_variants};
use crate::journey::checkout_experiment;
use reqwest::Method;
use serde_json::json;

fn started(api: &Api, key: &str) {
    api.define_and_start(key, &checkout_experiment(key));
}

#[test]
fn invalid_definitions_get_every_problem_with_its_field() {
    let server = TestApp::spawn(&[]);
    let api = Api::new(server.base_url());
    let mut definition = checkout_experiment("broken");
    definition["traffic"] = json!(1.5);
    definition["variants"][1]["weight"] = json!(0);
    definition["control"] = json!("nobody");
    let reply = api.put("/v1/experiments/broken", &definition);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], "validation_failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["traffic", "variants[1].weight", "control"]);
    assert_eq!(api.get("/v1/experiments/broken").status, 404);
}

#[test]
fn malformed_requests_name_the_field_and_never_crash_the_server() {
    let server = TestApp::spawn(&[]);
    let api = Api::new(server.base_url());
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": 42, "touchpoint": "pdp.gallery"}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["field"], "unit_id");
    let reply = api.send_raw(
        Method::POST,
        "/v1/events",
        "application/json",
        "{\"events\": [",
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["code"], "bad_request");
    let reply = api.post(
        "/v1/events",
        &json!({"events": [
            {"id": "ok-1", "unit_id": "u1", "name": "add_to_cart"},
            {"id": "bad-1", "unit_id": "u1", "name": "purchase", "value": "lots"}
        ]}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["accepted"], 1);
    assert_eq!(
        reply.body["errors"],
        json!([{"index": 1, "field": "value", "error": "must be a number"}])
    );
    assert_eq!(api.get("/healthz").status, 200);
}

#[test]
fn a_running_experiment_cannot_reshuffle_its_units_through_its_definition() {
    let server = TestApp::spawn(&[]);
    let api = Api::new(server.base_url());
    started(&api, "no-reshuffle");
    let mut changed = checkout_experiment("no-reshuffle");
    changed["variants"][0]["weight"] = json!(0.8);
    changed["variants"][1]["weight"] = json!(0.2);
    let reply = api.put("/v1/experiments/no-reshuffle", &changed);
    assert_eq!(reply.status, 409);
    assert!(
        reply.body["detail"]
            .as_str()
            .expect("detail")
            .contains("weights")
    );
    // Traffic moves only through a new phase (phases.rs starts one).
    let mut smaller = checkout_experiment("no-reshuffle");
    smaller["traffic"] = json!(0.5);
    let reply = api.put("/v1/experiments/no-reshuffle", &smaller);
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["code"], "new_phase_required");
    assert_eq!(reply.body["field"], "traffic");
    let renamed = {
        let mut renamed = checkout_experiment("no-reshuffle");
        renamed["variants"][1]["key"] = json!("threshold_30");
        api.put("/v1/experiments/no-reshuffle", &renamed)
    };
    assert_eq!(renamed.status, 409);
    assert_eq!(
        (
            renamed.body["code"].as_str(),
            renamed.body["field"].as_str()
        ),
        (Some("conflict"), Some("variants"))
    );
    // Stopped, then running again: the definition keeps its status on PUT.
    assert_eq!(
        api.post("/v1/experiments/no-reshuffle/stop", &json!({}))
            .body["status"],
        "stopped"
    );
}

#[test]
fn a_later_journey_step_sees_the_entry_decision_without_enrolling_anyone() {
    let server = TestApp::spawn(&[]);
    let api = Api::new(server.base_url());
    started(&api, "enroll-rule");
    let peek = api.post(
        "/v1/assign",
        &json!({"unit_id": "late", "touchpoint": "checkout.shipping", "enroll": false}),
    );
    assert_eq!(peek.body["assignments"], json!([]));
    let entry = api.post(
        "/v1/assign",
        &json!({"unit_id": "early", "touchpoint": "checkout.shipping"}),
    );
    let later = api.post(
        "/v1/assign",
        &json!({"unit_id": "early", "touchpoint": "checkout.shipping", "enroll": false}),
    );
    assert_eq!(entry.body["assignments"], later.body["assignments"]);
    let results = api.get("/v1/experiments/enroll-rule/results");
    let units = sum_over_variants(&results.body["variants"], "units");
    assert_eq!(units, 1, "only the entry step enrolled a unit");
}

#[test]
fn unknown_touchpoints_assign_nothing_and_toml_definitions_are_accepted() {
    let server = TestApp::spawn(&[]);
    let api = Api::new(server.base_url());
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": "u", "touchpoint": "nowhere"}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["assignments"], json!([]));
    let toml = r#"
        touchpoint = "pdp.gallery"
        journey = ["add_to_cart"]
        [[variants]]
        key = "control"
        weight = 1
        [[variants]]
        key = "big_photos"
        weight = 1
        payload = { photos = 8 }
    "#;
    let reply = api.send_raw(
        Method::PUT,
        "/v1/experiments/gallery",
        "application/toml",
        toml,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["status"], "draft");
    assert_eq!(
        api.get("/v1/experiments").body["experiments"][0]["key"],
        "gallery"
    );
}
