//! Interactions end to end (issue 10): a checkout experiment declares `interacts_with` a PDP
//! experiment; each unit's PDP variant at exposure is kept as the segment `exp:<pdp key>`, so
//! results by that segment count exactly the units served and Cochran's Q finds a true
//! PDP × checkout interaction and not an absent one. Seeded, so every count is fixed.

use crate::client::Api;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use touchstone_testkit::binary::TouchstoneServer;

const UNITS: usize = 4_000;

fn pdp(key: &str) -> Value {
    json!({
        "key": key,
        "touchpoint": "pdp.gallery",
        // A fifth of the units are in no PDP variant: the `(none)` slice.
        "traffic": 0.8,
        "variants": [
            {"key": "control", "weight": 1, "payload": {"gallery": "grid"}},
            {"key": "carousel", "weight": 1, "payload": {"gallery": "carousel"}}
        ],
        "journey": ["purchase"]
    })
}

fn checkout(key: &str, pdp_key: &str) -> Value {
    json!({
        "key": key,
        "touchpoint": "checkout.shipping",
        "variants": [
            {"key": "control", "weight": 1, "payload": {"threshold": 50}},
            {"key": "threshold_35", "weight": 1, "payload": {"threshold": 35}}
        ],
        "journey": ["purchase"],
        "interacts_with": [pdp_key]
    })
}

/// The variant key `experiment` gives in an assign reply, if any.
fn variant(reply: &Value, experiment: &str) -> Option<String> {
    reply["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|assignment| assignment["experiment"] == experiment)
        .map(|assignment| assignment["variant"].as_str().expect("key").to_owned())
}

#[derive(Default)]
struct Cell {
    units: u64,
    purchased: u64,
}

/// Runs one pair; `uplift(pdp_variant)` is the checkout treatment's true effect on purchase
/// for units with that PDP variant. Returns the segment results and what was sent per
/// (pdp slice, checkout variant).
fn run_pair(
    api: &Api,
    prefix: &str,
    seed: u64,
    uplift: fn(&str) -> f64,
) -> (Value, BTreeMap<(String, String), Cell>) {
    let (pdp_key, checkout_key) = (format!("{prefix}-pdp"), format!("{prefix}-checkout"));
    api.define_and_start(&pdp_key, &pdp(&pdp_key));
    api.define_and_start(&checkout_key, &checkout(&checkout_key, &pdp_key));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sent: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut events = Vec::new();
    for index in 0..UNITS {
        let unit = format!("{prefix}-unit-{index}");
        let at_pdp = api.post(
            "/v1/assign",
            &json!({"unit_id": unit, "touchpoint": "pdp.gallery"}),
        );
        let seen = variant(&at_pdp.body, &pdp_key).unwrap_or_else(|| "(none)".into());
        let at_checkout = api.post(
            "/v1/assign",
            &json!({"unit_id": unit, "touchpoint": "checkout.shipping"}),
        );
        let shown = variant(&at_checkout.body, &checkout_key).expect("everyone is in checkout");
        let effect = if shown == "threshold_35" {
            uplift(&seen)
        } else {
            0.0
        };
        let cell = sent.entry((seen, shown)).or_default();
        cell.units += 1;
        if rng.random::<f64>() < 0.20 + effect {
            cell.purchased += 1;
            events.push(json!({"id": format!("{unit}-p"), "unit_id": unit, "name": "purchase"}));
        }
    }
    for batch in events.chunks(500) {
        let reply = api.post("/v1/events", &json!({ "events": batch }));
        assert_eq!(reply.body["accepted"], batch.len(), "{}", reply.body);
    }
    let segments = api.get(&format!(
        "/v1/experiments/{checkout_key}/results/segments/exp:{pdp_key}"
    ));
    assert_eq!(segments.status, 200, "{}", segments.body);
    (segments.body, sent)
}

fn assert_counts_match(body: &Value, sent: &BTreeMap<(String, String), Cell>) {
    for ((slice, shown), cell) in sent {
        let values = body["values"].as_array().expect("values");
        let slice_results = values
            .iter()
            .find(|value| value["value"] == slice.as_str())
            .unwrap_or_else(|| panic!("slice {slice} missing: {body}"));
        let variant = slice_results["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .find(|variant| variant["key"] == shown.as_str())
            .expect("variant");
        assert_eq!(variant["units"], cell.units, "{slice}/{shown}");
        let purchase = slice_results["stages"][0]["variants"]
            .as_array()
            .expect("stage variants")
            .iter()
            .find(|variant| variant["key"] == shown.as_str())
            .expect("stage variant");
        assert_eq!(purchase["reached"], cell.purchased, "{slice}/{shown}");
    }
}

fn q_p_value(body: &Value) -> f64 {
    let heterogeneity = body["heterogeneity"]
        .as_array()
        .expect("heterogeneity")
        .iter()
        .find(|entry| entry["stage"] == "purchase" && entry["variant"] == "threshold_35")
        .expect("a Q test of purchase");
    let slices = heterogeneity["values"].as_array().expect("values").len();
    assert_eq!(
        slices, 3,
        "control, carousel and (none) enter Q: {heterogeneity}"
    );
    heterogeneity["p_value"].as_f64().expect("a p-value")
}

#[test]
fn a_true_interaction_is_detected_and_an_absent_one_is_not() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());

    // The cheaper threshold helps only shoppers who saw the carousel.
    let (body, sent) = run_pair(&api, "ix-true", 7, |pdp| {
        if pdp == "carousel" { 0.15 } else { 0.0 }
    });
    assert_eq!(body["attribute"], "exp:ix-true-pdp");
    assert_counts_match(&body, &sent);
    let p = q_p_value(&body);
    assert!(p < 0.001, "a true interaction is found: p = {p}");

    // The same help for everyone: no interaction.
    let (body, sent) = run_pair(&api, "ix-none", 11, |_| 0.08);
    assert_counts_match(&body, &sent);
    let p = q_p_value(&body);
    assert!(p > 0.05, "an absent interaction is not found: p = {p}");
}

#[test]
fn an_interaction_attribute_is_known_to_results_and_others_are_not() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    api.define_and_start(
        "ix-lone-checkout",
        &checkout("ix-lone-checkout", "ix-undefined"),
    );
    // The other experiment does not exist: every unit is `(none)` there.
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": "u1", "touchpoint": "checkout.shipping"}),
    );
    assert_eq!(reply.status, 200);
    let known = api.get("/v1/experiments/ix-lone-checkout/results/segments/exp:ix-undefined");
    assert_eq!(known.status, 200, "{}", known.body);
    let values: Vec<&str> = known.body["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|value| value["value"].as_str().expect("value"))
        .collect();
    assert_eq!(values, ["(none)"]);
    let unknown = api.get("/v1/experiments/ix-lone-checkout/results/segments/exp:other");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}
