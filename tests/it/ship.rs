//! Shipping the winner end to end (issue 10): every unit at the touchpoint — inside the old
//! traffic and layer range or not — gets the winner's payload, nothing more is recorded, and
//! the results stay as they were at the ship time.

use crate::client::{Api, Reply};
use crate::journey::checkout_experiment;
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;

const KEY: &str = "ship-threshold";

fn assign(api: &Api, unit: &str) -> Reply {
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": unit, "touchpoint": "checkout.shipping"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

fn purchases(units: impl Iterator<Item = String>, tag: &str) -> Value {
    let events: Vec<Value> = units
        .map(|unit| json!({"id": format!("{unit}-{tag}"), "unit_id": unit, "name": "purchase", "value": 40.0}))
        .collect();
    json!({ "events": events })
}

/// Everything the results say about counts: units, stage reach and revenue moments.
fn counts(api: &Api) -> Value {
    let results = api.get(&format!("/v1/experiments/{KEY}/results"));
    assert_eq!(results.status, 200, "{}", results.body);
    json!({
        "variants": results.body["variants"],
        "stages": results.body["stages"].as_array().expect("stages").iter()
            .map(|stage| stage["variants"].as_array().expect("variants").iter()
                .map(|variant| variant["reached"].clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    })
}

#[test]
fn a_shipped_experiment_serves_the_winner_to_everyone_and_records_nothing() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    let mut definition = checkout_experiment(KEY);
    definition["traffic"] = json!(0.5);
    definition["layer"] = json!({"name": "ship-layer", "range": [0.0, 0.5]});
    api.define_and_start(KEY, &definition);

    let units: Vec<String> = (0..400).map(|index| format!("ship-unit-{index}")).collect();
    let in_before = units
        .iter()
        .filter(|unit| {
            !assign(&api, unit).body["assignments"]
                .as_array()
                .expect("list")
                .is_empty()
        })
        .count();
    // A layer half with half its traffic: about a quarter of the units.
    assert!((60..140).contains(&in_before), "{in_before}");
    let reply = api.post("/v1/events", &purchases(units.iter().cloned(), "before"));
    assert_eq!(reply.status, 200);
    let before = counts(&api);

    let shipped = api.post(
        &format!("/v1/experiments/{KEY}/ship"),
        &json!({"variant": "threshold_35"}),
    );
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    assert_eq!(shipped.body["status"], "shipped");
    assert_eq!(shipped.body["shipped"]["variant"], "threshold_35");
    assert!(shipped.body["shipped"]["at"].is_string());

    // Old units, new units, units that were outside the traffic or the layer: all the winner.
    let everyone = units
        .iter()
        .cloned()
        .chain((0..200).map(|index| format!("ship-new-{index}")));
    for unit in everyone.clone() {
        let reply = assign(&api, &unit);
        assert_eq!(
            reply.body["assignments"],
            json!([{"experiment": KEY, "variant": "threshold_35", "payload": {"threshold": 35}, "shipped": true}]),
            "{unit}"
        );
    }
    let reply = api.post("/v1/events", &purchases(everyone, "after"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(counts(&api), before, "nothing is recorded after shipping");

    // Shipping again is a no-op; another winner, or running again, is refused.
    let again = api.post(
        &format!("/v1/experiments/{KEY}/ship"),
        &json!({"variant": "threshold_35"}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.body["shipped"], shipped.body["shipped"]);
    let other = api.post(
        &format!("/v1/experiments/{KEY}/ship"),
        &json!({"variant": "control"}),
    );
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (409, Some("conflict"))
    );
    let restart = api.post(&format!("/v1/experiments/{KEY}/start"), &json!({}));
    assert_eq!(restart.status, 409, "{}", restart.body);
    // Its payload may still be edited (copy fixes) without losing the ship.
    let mut edited = definition.clone();
    edited["variants"][1]["payload"] = json!({"threshold": 35, "label": "Free over 35"});
    let redefined = api.put(&format!("/v1/experiments/{KEY}"), &edited);
    assert_eq!(redefined.status, 200, "{}", redefined.body);
    assert_eq!(redefined.body["status"], "shipped");
    assert_eq!(
        assign(&api, "ship-late").body["assignments"][0]["payload"]["label"],
        "Free over 35"
    );

    // Stopping withdraws the winner: the shop shows its defaults again.
    let stopped = api.post(&format!("/v1/experiments/{KEY}/stop"), &json!({}));
    assert_eq!(stopped.body["status"], "stopped");
    assert!(stopped.body.get("shipped").is_none());
    assert_eq!(assign(&api, "ship-unit-1").body["assignments"], json!([]));
}

#[test]
fn shipping_refuses_an_unknown_variant_and_an_experiment_that_never_ran() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    let reply = api.put(
        "/v1/experiments/ship-draft",
        &checkout_experiment("ship-draft"),
    );
    assert_eq!(reply.status, 201);
    let unknown = api.post(
        "/v1/experiments/ship-draft/ship",
        &json!({"variant": "threshold_20"}),
    );
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(unknown.body["field"], "variant");
    let draft = api.post(
        "/v1/experiments/ship-draft/ship",
        &json!({"variant": "threshold_35"}),
    );
    assert_eq!(draft.status, 409, "{}", draft.body);
    let missing = api.post("/v1/experiments/ship-draft/ship", &json!({}));
    assert_eq!(missing.status, 400, "{}", missing.body);
    let nowhere = api.post(
        "/v1/experiments/ship-nowhere/ship",
        &json!({"variant": "control"}),
    );
    assert_eq!(nowhere.status, 404);
}
