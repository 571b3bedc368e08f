//! Holdouts end to end (issue 10) with a Redis of its own (a running holdout changes what
//! every assign at its touchpoints answers, so it must not share a store with other tests):
//! held-out units never get an experiment or a shipped winner, their share and membership
//! agree with GrowthBook's own JS SDK, and the holdout's results show the program's true lift
//! with unit counts equal to what assign answered.

use crate::client::{Api, Reply};
use crate::growthbook_sdk::{SdkExperiment, variations};
use crate::journey::checkout_experiment;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

const HOLDOUT: &str = "program-q4";
const TOUCHPOINT: &str = "pdp.gallery";
const TESTED: &str = "gallery-video";
const SHIPPED: &str = "gallery-badge";
const UNITS: usize = 2000;

fn holdout_definition() -> Value {
    json!({
        "share": 0.2,
        "touchpoints": [TOUCHPOINT],
        "journey": ["purchase"],
        "value_event": "purchase",
        "description": "What the Q4 gallery program earned",
    })
}

fn at_touchpoint(key: &str) -> Value {
    let mut definition = checkout_experiment(key);
    definition["touchpoint"] = json!(TOUCHPOINT);
    definition
}

fn assign(api: &Api, unit: &str, enroll: bool) -> Reply {
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": unit, "touchpoint": TOUCHPOINT, "enroll": enroll}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["exposures_recorded"], true, "{}", reply.body);
    reply
}

fn keys(assignments: &Value) -> Vec<(String, bool)> {
    assignments
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| {
            (
                a["experiment"].as_str().expect("key").to_owned(),
                a["shipped"] == true,
            )
        })
        .collect()
}

#[test]
fn held_out_units_get_nothing_and_the_holdout_measures_the_programs_lift() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    api.define_and_start(TESTED, &at_touchpoint(TESTED));
    api.define_and_start(SHIPPED, &at_touchpoint(SHIPPED));
    let shipped = api.post(
        &format!("/v1/experiments/{SHIPPED}/ship"),
        &json!({"variant": "threshold_35"}),
    );
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    let created = api.put(&format!("/v1/holdouts/{HOLDOUT}"), &holdout_definition());
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "running");

    let units: Vec<String> = (0..UNITS).map(|index| format!("shopper-{index}")).collect();
    let mut held_out = Vec::new();
    let mut program = Vec::new();
    for unit in &units {
        let reply = assign(&api, unit, true);
        if reply.body["holdout"] == HOLDOUT {
            assert_eq!(reply.body["assignments"], json!([]), "{unit}");
            held_out.push(unit.clone());
        } else {
            assert!(reply.body.get("holdout").is_none(), "{}", reply.body);
            assert_eq!(
                keys(&reply.body["assignments"]),
                [(TESTED.to_owned(), false), (SHIPPED.to_owned(), true)],
                "{unit}: the running experiment and the shipped winner"
            );
            program.push(unit.clone());
        }
    }
    // Binomial(2000, 0.2): mean 400, sd ≈ 17.9; the bound is ±5 sd.
    assert!((311..=489).contains(&held_out.len()), "{}", held_out.len());
    // Membership is GrowthBook's variation 0 of {seed: key, weights: [share, 1 - share]}.
    let sdk = variations(
        &[SdkExperiment {
            key: HOLDOUT,
            weights: &[0.2, 0.8],
            coverage: 1.0,
            namespace: None,
        }],
        &units,
    );
    let sdk_held: Vec<&String> = units
        .iter()
        .zip(&sdk[0])
        .filter(|(_, variation)| **variation == Some(0))
        .map(|(unit, _)| unit)
        .collect();
    assert_eq!(sdk_held, held_out.iter().collect::<Vec<_>>());
    // Asking again without enrolling: still held out, still nothing.
    let again = assign(&api, &held_out[0], false);
    assert_eq!(
        (&again.body["holdout"], &again.body["assignments"]),
        (&json!(HOLDOUT), &json!([]))
    );

    // The program converts at 20%, the held-out units at 10%.
    let mut rng = StdRng::seed_from_u64(10);
    let mut buyers = [0u64, 0u64];
    let mut events = Vec::new();
    for (group, members, rate) in [(0, &held_out, 0.10), (1, &program, 0.20)] {
        for unit in members {
            if rng.random_bool(rate) {
                buyers[group] += 1;
                events.push(json!({"id": format!("{unit}-order"), "unit_id": unit,
                    "name": "purchase", "value": 50.0}));
            }
        }
    }
    for batch in events.chunks(500) {
        let reply = api.post("/v1/events", &json!({ "events": batch }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["accepted"], batch.len(), "{}", reply.body);
    }

    let results = api.get(&format!("/v1/holdouts/{HOLDOUT}/results"));
    assert_eq!(results.status, 200, "{}", results.body);
    let body = &results.body;
    assert_eq!(body["experiment"], format!("holdout:{HOLDOUT}"));
    assert_eq!(body["control"], "holdout");
    let units_of = |index: usize| body["variants"][index]["units"].as_u64();
    assert_eq!(body["variants"][0]["key"], "holdout");
    assert_eq!(units_of(0), Some(held_out.len() as u64));
    assert_eq!(body["variants"][1]["key"], "program");
    assert_eq!(units_of(1), Some(program.len() as u64));
    let purchase = &body["stages"][0];
    assert_eq!(purchase["stage"], "purchase");
    assert_eq!(purchase["variants"][0]["reached"], buyers[0]);
    assert_eq!(purchase["variants"][1]["reached"], buyers[1]);
    let lift = &purchase["variants"][1]["vs_control"];
    assert_eq!(lift["significant"], true, "{lift}");
    let estimate = lift["absolute"]["estimate"].as_f64().expect("estimate");
    assert!((0.05..0.15).contains(&estimate), "{lift}");
    assert_eq!(body["srm"]["mismatch"], false, "{}", body["srm"]);
    // The experiment saw the program units only; held-out units were never exposed to it.
    let tested = api.get(&format!("/v1/experiments/{TESTED}/results"));
    let tested_units: u64 = crate::client::sum_over_variants(&tested.body["variants"], "units");
    assert_eq!(tested_units, program.len() as u64);

    // Read back, listed, and in the audit log of the holdout.
    let read = api.get(&format!("/v1/holdouts/{HOLDOUT}"));
    assert_eq!(read.body["share"], 0.2);
    let list = api.get("/v1/holdouts");
    assert_eq!(list.body["holdouts"][0]["key"], HOLDOUT);
    let log = api.get(&format!("/v1/audit?holdout={HOLDOUT}"));
    assert_eq!(log.body["entries"][0]["action"], "define", "{}", log.body);
    assert_eq!(
        log.body["entries"][0]["changes"]["created"]["share"], 0.2,
        "{}",
        log.body
    );

    // The share cannot change; stopping gives held-out units the program again.
    let mut reshare = holdout_definition();
    reshare["share"] = json!(0.1);
    let refused = api.put(&format!("/v1/holdouts/{HOLDOUT}"), &reshare);
    assert_eq!(refused.status, 409, "{}", refused.body);
    let mut stop = holdout_definition();
    stop["status"] = json!("stopped");
    let stopped = api.put(&format!("/v1/holdouts/{HOLDOUT}"), &stop);
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(stopped.body["status"], "stopped");
    let freed = assign(&api, &held_out[0], true);
    assert!(freed.body.get("holdout").is_none(), "{}", freed.body);
    assert_eq!(keys(&freed.body["assignments"]).len(), 2, "{}", freed.body);
    let log = api.get(&format!("/v1/audit?holdout={HOLDOUT}"));
    assert_eq!(
        log.body["entries"][0]["changes"]["status"],
        json!({"from": "running", "to": "stopped"})
    );
    // Its results stay readable, with the same counts.
    let after = api.get(&format!("/v1/holdouts/{HOLDOUT}/results"));
    assert_eq!(after.body["variants"], results.body["variants"]);
}

#[test]
fn a_bad_holdout_is_refused_naming_the_field() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let cases: [(&str, Value, u16, &str); 5] = [
        ("share", json!(0.7), 422, "share"),
        ("touchpoints", json!([]), 422, "touchpoints"),
        (
            "journey",
            json!(["purchase", "purchase"]),
            422,
            "journey[1]",
        ),
        ("status", json!("draft"), 400, "status"),
        ("key", json!("another-key"), 400, "key"),
    ];
    for (field, value, status, named) in cases {
        let mut definition = holdout_definition();
        definition[field] = value;
        let reply = api.put("/v1/holdouts/bad", &definition);
        assert_eq!(reply.status, status, "{field}: {}", reply.body);
        assert_eq!(
            reply.content_type, "application/problem+json",
            "{field}: {}",
            reply.body
        );
        let fields: Vec<&Value> = match reply.body["errors"].as_array() {
            Some(errors) => errors.iter().map(|error| &error["field"]).collect(),
            None => vec![&reply.body["field"]],
        };
        assert_eq!(fields, [&json!(named)], "{field}: {}", reply.body);
    }
    assert_eq!(api.get("/v1/holdouts/bad").status, 404);
    assert_eq!(api.get("/v1/holdouts/bad/results").status, 404);
    assert_eq!(api.get("/v1/holdouts").body, json!({"holdouts": []}));
}
