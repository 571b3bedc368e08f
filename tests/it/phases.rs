//! Phases end to end (issue 10) over HTTP with a real Redis: a running 50/50 experiment moves
//! to 80/20 only through a new phase; phase 2 counts from zero with a fresh salt, splits the
//! same units about 80/20 and is not flagged for sample-ratio mismatch against its own
//! weights; phase 1 stays readable, unchanged, with `?phase=1`.

use crate::client::{Api, sum_over_variants};
use crate::journey::checkout_experiment;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

const KEY: &str = "phases-threshold";
const TOUCHPOINT: &str = "phases.checkout";
const UNITS: usize = 1000;

fn units() -> impl Iterator<Item = String> {
    (0..UNITS).map(|index| format!("phases-unit-{index}"))
}

/// Each unit's variant, assigned (and exposed) now.
fn assign_all(api: &Api) -> BTreeMap<String, String> {
    units()
        .map(|unit| {
            let device = if unit.ends_with('7') { "tablet" } else { "mobile" };
            let reply = api.post(
                "/v1/assign",
                &json!({"unit_id": unit, "touchpoint": TOUCHPOINT, "attributes": {"device": device}}),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            let variant = reply.body["assignments"][0]["variant"]
                .as_str()
                .unwrap_or_else(|| panic!("{unit} assigned: {}", reply.body))
                .to_owned();
            (unit, variant)
        })
        .collect()
}

/// Every unit reaches `add_to_cart`; every third buys for 40. Ids carry `tag`.
fn send_events(api: &Api, tag: &str) {
    let units: Vec<String> = units().collect();
    for chunk in units.chunks(250) {
        let mut events = Vec::new();
        for (offset, unit) in chunk.iter().enumerate() {
            events.push(
                json!({"id": format!("{unit}-{tag}-cart"), "unit_id": unit, "name": "add_to_cart"}),
            );
            if offset % 3 == 0 {
                events.push(json!({"id": format!("{unit}-{tag}-buy"), "unit_id": unit, "name": "purchase", "value": 40.0}));
            }
        }
        let reply = api.post("/v1/events", &json!({ "events": events }));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

fn results(api: &Api, query: &str) -> Value {
    let reply = api.get(&format!("/v1/experiments/{KEY}/results{query}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Units per variant, stage reach and revenue moments: what must not move in a closed phase.
fn counts(results: &Value) -> Value {
    json!({
        "variants": results["variants"],
        "stages": results["stages"].as_array().expect("stages").iter()
            .map(|stage| stage["variants"].as_array().expect("variants").iter()
                .map(|variant| variant["reached"].clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    })
}

fn units_of(results: &Value, variant: &str) -> u64 {
    results["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["key"] == variant)
        .and_then(|v| v["units"].as_u64())
        .expect("units of the variant")
}

#[test]
fn a_new_phase_reweights_with_a_fresh_salt_and_keeps_the_old_phase_apart() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let mut definition = checkout_experiment(KEY);
    definition["touchpoint"] = json!(TOUCHPOINT);
    definition["segments"] = json!(["device"]);
    api.define_and_start(KEY, &definition);

    let first = assign_all(&api);
    send_events(&api, "p1");
    let phase_one = results(&api, "");
    assert_eq!(phase_one["phase"], 1);
    assert_eq!(sum_over_variants(&phase_one["variants"], "units"), 1000);

    // The split of a running experiment does not change through its definition.
    let mut reweighted = definition.clone();
    reweighted["variants"][0]["weight"] = json!(0.8);
    reweighted["variants"][1]["weight"] = json!(0.2);
    let refused = api.put(&format!("/v1/experiments/{KEY}"), &reweighted);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["code"], "new_phase_required");
    assert_eq!(refused.body["field"], "variants[0].weight");
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("/v1/experiments/{KEY}/phases")),
        "{detail}"
    );
    let mut more_traffic = definition.clone();
    more_traffic["traffic"] = json!(0.9);
    let refused = api.put(&format!("/v1/experiments/{KEY}"), &more_traffic);
    assert_eq!(
        (refused.status, &refused.body["field"]),
        (409, &json!("traffic"))
    );

    let bad = api.post(
        &format!("/v1/experiments/{KEY}/phases"),
        &json!({"weights": [0.8, -0.2], "traffic": 2}),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|error| error["field"].as_str())
        .collect();
    assert_eq!(fields, ["weights[1]", "traffic"]);

    let started = api.post(
        &format!("/v1/experiments/{KEY}/phases"),
        &json!({"weights": [0.8, 0.2], "reason": "more traffic to control while the copy is fixed"}),
    );
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.body["phase"], 2);
    assert_eq!(started.body["salt"], format!("{KEY}:2"));
    assert_eq!(started.body["phases"][0]["weights"], json!([0.5, 0.5]));
    assert_eq!(started.body["phases"][0]["salt"], KEY);

    // Phase 2 starts from zero.
    let fresh = results(&api, "");
    assert_eq!(fresh["phase"], 2);
    assert_eq!(sum_over_variants(&fresh["variants"], "units"), 0);

    // The same units, assigned again: fresh exposures, about 80/20, stable within the phase.
    let second = assign_all(&api);
    assert_eq!(
        assign_all(&api),
        second,
        "no unit changes variant inside a phase"
    );
    let in_control = second.values().filter(|v| *v == "control").count();
    // Binomial(1000, 0.8): sd = √(1000 · 0.8 · 0.2) ≈ 12.6; ±5 sd ≈ ±63.
    assert!(
        (737..=863).contains(&in_control),
        "{in_control} of 1000 in control"
    );
    // A fresh salt re-randomizes: P(move) = 0.5 · 0.2 + 0.5 · 0.8 = 0.5, sd ≈ 15.8, ±5 sd.
    let moved = units().filter(|unit| first[unit] != second[unit]).count();
    assert!(
        (421..=579).contains(&moved),
        "{moved} of 1000 changed variant"
    );
    send_events(&api, "p2");

    let phase_two = results(&api, "");
    let explicit = results(&api, "?phase=2");
    assert_eq!(explicit["phase"], 2);
    assert_eq!(
        counts(&explicit),
        counts(&phase_two),
        "the current phase is the default"
    );
    assert_eq!(sum_over_variants(&phase_two["variants"], "units"), 1000);
    assert_eq!(units_of(&phase_two, "control"), in_control as u64);
    assert_eq!(phase_two["variants"][0]["weight"], 0.8);
    assert_eq!(phase_two["srm"]["mismatch"], false, "{}", phase_two["srm"]);
    assert_eq!(phase_two["phases"].as_array().expect("phases").len(), 2);
    // Every unit reached the cart in phase 2, counted once there.
    assert_eq!(
        sum_over_variants(&phase_two["stages"][0]["variants"], "reached"),
        1000
    );

    // Phase 1: readable, with its own weights, exactly as it was.
    let kept = results(&api, "?phase=1");
    assert_eq!(kept["phase"], 1);
    assert_eq!(counts(&kept), counts(&phase_one));
    assert_eq!(kept["variants"][0]["weight"], 0.5);
    assert_eq!(kept["srm"]["mismatch"], false);
    let segments = api.get(&format!(
        "/v1/experiments/{KEY}/results/segments/device?phase=1"
    ));
    assert_eq!(segments.status, 200, "{}", segments.body);
    assert_eq!(segments.body["phase"], 1);
    let daily = api.get(&format!("/v1/experiments/{KEY}/results/daily?phase=1"));
    assert_eq!(daily.status, 200, "{}", daily.body);
    let last_day = daily.body["days"]
        .as_array()
        .expect("days")
        .last()
        .cloned()
        .expect("the snapshot taken when phase 2 started");
    assert_eq!(counts(&last_day), counts(&phase_one));

    for (query, status) in [("?phase=3", 404), ("?phase=0", 404), ("?phase=two", 400)] {
        for path in ["results", "results/daily", "results/segments/device"] {
            let reply = api.get(&format!("/v1/experiments/{KEY}/{path}{query}"));
            assert_eq!(reply.status, status, "{path}{query}: {}", reply.body);
            assert_eq!(reply.body["field"], "phase", "{path}{query}");
        }
    }

    let audit = api.get(&format!("/v1/audit?experiment={KEY}"));
    let entry = &audit.body["entries"][0];
    assert_eq!(entry["action"], "phase");
    assert_eq!(entry["changes"]["phase"], json!({"from": 1, "to": 2}));
    assert_eq!(
        entry["changes"]["weights"],
        json!({"from": [0.5, 0.5], "to": [0.8, 0.2]})
    );
    assert!(entry["changes"]["reason"].is_string());

    let page = api.get_text(&format!("/ui/experiments/{KEY}"));
    assert!(
        page.contains(r#"data-phase="2""#),
        "the dashboard shows the phase"
    );

    // Only a running experiment starts a phase.
    api.post(&format!("/v1/experiments/{KEY}/stop"), &json!({}));
    let stopped = api.post(&format!("/v1/experiments/{KEY}/phases"), &json!({}));
    assert_eq!(stopped.status, 409, "{}", stopped.body);
    let missing = api.post("/v1/experiments/phases-nowhere/phases", &json!({}));
    assert_eq!(missing.status, 404);
}
