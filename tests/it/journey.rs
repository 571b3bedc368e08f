//! A scripted journey: thousands of synthetic shoppers whose true conversion rates differ by
//! variant go through assign → add_to_cart → purchase over HTTP; the results count every one
//! of them exactly and show the effect in the right direction.

use crate::client::Api;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;
use touchstone_testkit::binary::TouchstoneServer;

const UNITS: usize = 3000;

pub fn checkout_experiment(key: &str) -> Value {
    json!({
        "key": key,
        "touchpoint": "checkout.shipping",
        "traffic": 1.0,
        "variants": [
            {"key": "control", "weight": 0.5, "payload": {"threshold": 50}},
            {"key": "threshold_35", "weight": 0.5, "payload": {"threshold": 35}}
        ],
        "control": "control",
        "journey": ["add_to_cart", "purchase"],
        "value_event": "purchase",
        "conversion_window_hours": 168
    })
}

#[derive(Default)]
struct Expected {
    units: u64,
    add_to_cart: u64,
    purchase: u64,
    revenue: f64,
}

#[test]
fn a_scripted_journey_is_counted_exactly_and_shows_the_true_effect() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    let key = "free-shipping-journey";
    assert_eq!(
        api.put(&format!("/v1/experiments/{key}"), &checkout_experiment(key))
            .status,
        201
    );
    assert_eq!(
        api.post(&format!("/v1/experiments/{key}/start"), &json!({}))
            .status,
        200
    );

    // True rates: control 30% add to cart, half of them buy; treatment 42%, half buy.
    let cart_rate = HashMap::from([("control", 0.30), ("threshold_35", 0.42)]);
    let mut rng = StdRng::seed_from_u64(7);
    let mut expected: HashMap<String, Expected> = HashMap::new();
    let mut events = Vec::new();
    for unit in 0..UNITS {
        let unit_id = format!("shopper-{unit}");
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": unit_id, "touchpoint": "checkout.shipping", "attributes": {"country": "DE"}}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let assignments = reply.body["assignments"]
            .as_array()
            .expect("assignments list");
        assert_eq!(assignments.len(), 1, "traffic 1.0 assigns everyone");
        let variant = assignments[0]["variant"]
            .as_str()
            .expect("variant key")
            .to_owned();
        let tally = expected.entry(variant.clone()).or_default();
        tally.units += 1;
        if rng.random_bool(cart_rate[variant.as_str()]) {
            tally.add_to_cart += 1;
            events.push(
                json!({"id": format!("{unit_id}-cart"), "unit_id": unit_id, "name": "add_to_cart"}),
            );
            if rng.random_bool(0.5) {
                let value = f64::from(rng.random_range(20..120));
                tally.purchase += 1;
                tally.revenue += value;
                events.push(json!({"id": format!("{unit_id}-buy"), "unit_id": unit_id, "name": "purchase", "value": value}));
            }
        }
    }
    for batch in events.chunks(200) {
        let reply = api.post("/v1/events", &json!({"events": batch}));
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["accepted"], batch.len());
        assert_eq!(reply.body["errors"], json!([]));
    }
    // A retried batch changes nothing.
    let retry = api.post("/v1/events", &json!({"events": &events[..100]}));
    assert_eq!(retry.body["duplicates"], 100);
    assert_eq!(retry.body["accepted"], 0);

    let results = api.get(&format!("/v1/experiments/{key}/results"));
    assert_eq!(results.status, 200, "{}", results.body);
    let body = &results.body;
    assert_eq!(body["experiment"], key);
    assert_eq!(body["control"], "control");
    for variant in body["variants"].as_array().expect("variants") {
        let name = variant["key"].as_str().expect("key");
        assert_eq!(variant["units"], expected[name].units, "units of {name}");
    }
    let stages = body["stages"].as_array().expect("stages");
    assert_eq!(stages[0]["stage"], "add_to_cart");
    assert_eq!(stages[1]["stage"], "purchase");
    for (stage, pick) in [(&stages[0], 0), (&stages[1], 1)] {
        for variant in stage["variants"].as_array().expect("stage variants") {
            let name = variant["key"].as_str().expect("key");
            let tally = &expected[name];
            let reached = if pick == 0 {
                tally.add_to_cart
            } else {
                tally.purchase
            };
            assert_eq!(variant["reached"], reached, "{} of {name}", stage["stage"]);
            let rate = variant["rate"].as_f64().expect("rate");
            assert!((rate - reached as f64 / tally.units as f64).abs() < 1e-12);
        }
    }
    // The treatment's true add-to-cart lift (+12 points on 30%) is found, in the right direction.
    let treatment = &stages[0]["variants"][1];
    assert_eq!(treatment["key"], "threshold_35");
    let comparison = &treatment["vs_control"];
    assert!(
        comparison["absolute"]["estimate"]
            .as_f64()
            .expect("estimate")
            > 0.0
    );
    assert!(
        comparison["p_value"].as_f64().expect("p-value") < 0.001,
        "{comparison}"
    );
    // Revenue per exposed unit sums every purchase value exactly.
    let revenue = body["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|metric| metric["metric"] == "revenue_per_unit")
        .expect("revenue metric");
    for variant in revenue["variants"].as_array().expect("revenue variants") {
        let name = variant["key"].as_str().expect("key");
        let tally = &expected[name];
        let mean = variant["mean"].as_f64().expect("mean");
        assert!(
            (mean - tally.revenue / tally.units as f64).abs() < 1e-9,
            "revenue of {name}"
        );
    }
}
