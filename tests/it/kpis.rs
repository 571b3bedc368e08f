//! Journey KPIs by segment and over time (issue 9), end to end over HTTP with a real Redis:
//! a variant that lifts purchases on mobile and not on desktop, units with several purchases
//! and refunds, survey answers and support tickets — exact per-slice counts, per-unit sums,
//! and Cochran's Q finding the difference between devices.

use crate::client::Api;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

const KEY: &str = "kpi-checkout";
const UNITS: u64 = 800;

fn definition() -> Value {
    json!({
        "touchpoint": "checkout.payment",
        "variants": [{"key": "control", "weight": 1}, {"key": "one_click", "weight": 1}],
        "control": "control",
        "journey": ["begin_checkout", "purchase"],
        "value_event": "purchase",
        "segments": ["device"],
        "metrics": [
            {"key": "repeat_purchase", "kind": "conversion", "event": "purchase", "min_count": 2},
            {"key": "refunds", "kind": "sum", "event": "refund", "direction": "decrease"},
            {"key": "tickets", "kind": "count", "event": "support_ticket",
             "direction": "decrease", "role": "guardrail"},
            {"key": "nps", "kind": "nps", "event": "survey"},
        ],
    })
}

/// A deterministic stream of fractions in [0, 1) (a 64-bit LCG), so the journeys are fixed.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the test sent, per (device, variant).
#[derive(Default, Debug, PartialEq)]
struct Expected {
    units: u64,
    purchased: u64,
    repeat: u64,
    refund_sum: f64,
    refund_squares: f64,
    tickets_sum: f64,
    nps_answers: u64,
    nps_sum: f64,
}

fn slice<'a>(segments: &'a Value, value: &str) -> &'a Value {
    segments["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|slice| slice["value"] == value)
        .unwrap_or_else(|| panic!("slice {value} missing: {segments}"))
}

fn variant_of<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .expect("variants")
        .iter()
        .find(|variant| variant["key"] == key)
        .unwrap_or_else(|| panic!("variant {key} missing in {list}"))
}

fn named<'a>(list: &'a Value, field: &str, name: &str) -> &'a Value {
    list.as_array()
        .expect("list")
        .iter()
        .find(|entry| entry[field] == name)
        .unwrap_or_else(|| panic!("{name} missing in {list}"))
}

#[test]
fn segments_daily_snapshots_and_every_metric_kind_over_http_on_redis() {
    // Its own Redis: exact counts, untouched by other tests' servers and guardrail checks.
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TouchstoneServer::start(&[
        ("TOUCHSTONE__STORE__URL", url.as_str()),
        (
            "TOUCHSTONE__EXPERIMENTS__SNAPSHOT_TIME_ZONE",
            "Europe/Berlin",
        ),
    ]);
    let api = Api::new(server.base_url());
    api.define_and_start(KEY, &definition());

    let mut draws = Draws(9);
    let mut expected: BTreeMap<(String, String), Expected> = BTreeMap::new();
    let mut events = Vec::new();
    for unit in 0..UNITS {
        let unit_id = format!("kpi-{unit}");
        let device = if unit % 2 == 0 { "mobile" } else { "desktop" };
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": unit_id, "touchpoint": "checkout.payment",
                    "attributes": {"device": device}}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let variant = reply.body["assignments"][0]["variant"]
            .as_str()
            .expect("assigned")
            .to_owned();
        let cell = expected
            .entry((device.to_owned(), variant.clone()))
            .or_default();
        cell.units += 1;
        let event = |name: &str, n: u64, value: Option<f64>| {
            let mut event =
                json!({"id": format!("{unit_id}-{name}-{n}"), "unit_id": unit_id, "name": name});
            if let Some(value) = value {
                event["value"] = json!(value);
            }
            event
        };
        events.push(event("begin_checkout", 0, None));
        // One-click lifts purchases on mobile only: 60 % against 25 %; desktop 30 % in both.
        let rate = match (device, variant.as_str()) {
            ("mobile", "one_click") => 0.60,
            ("mobile", _) => 0.25,
            _ => 0.30,
        };
        if draws.next() < rate {
            cell.purchased += 1;
            events.push(event("purchase", 1, Some(40.0)));
            if draws.next() < 0.3 {
                cell.repeat += 1;
                events.push(event("purchase", 2, Some(25.0)));
            }
            if draws.next() < 0.2 {
                // Two partial refunds: the unit's value is their total.
                events.push(event("refund", 1, Some(5.0)));
                events.push(event("refund", 2, Some(7.5)));
                cell.refund_sum += 12.5;
                cell.refund_squares += 12.5 * 12.5;
            }
        }
        let tickets = (draws.next() * 3.0) as u64;
        for n in 0..tickets {
            events.push(event("support_ticket", n, None));
        }
        cell.tickets_sum += tickets as f64;
        if draws.next() < 0.4 {
            let answer = (draws.next() * 11.0).floor().min(10.0);
            events.push(event("survey", 1, Some(answer)));
            cell.nps_answers += 1;
            cell.nps_sum += if answer >= 9.0 {
                100.0
            } else if answer >= 7.0 {
                0.0
            } else {
                -100.0
            };
        }
    }
    for batch in events.chunks(200) {
        let reply = api.post("/v1/events", &json!({ "events": batch }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["accepted"], batch.len(), "{}", reply.body);
    }

    let segments = api.get(&format!("/v1/experiments/{KEY}/results/segments/device"));
    assert_eq!(segments.status, 200, "{}", segments.body);
    let body = &segments.body;
    assert_eq!(body["attribute"], "device");
    for ((device, variant), sent) in &expected {
        let slice = slice(body, device);
        assert_eq!(variant_of(&slice["variants"], variant)["units"], sent.units);
        let purchase = named(&slice["stages"], "stage", "purchase");
        assert_eq!(
            variant_of(&purchase["variants"], variant)["reached"],
            sent.purchased,
            "{device}/{variant}"
        );
        let metric = |key: &str| {
            variant_of(
                &named(&slice["metrics"], "metric", key)["variants"],
                variant,
            )
            .clone()
        };
        let mean = |key: &str| metric(key)["mean"].as_f64().unwrap_or(0.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        assert!(close(
            mean("repeat_purchase"),
            sent.repeat as f64 / sent.units as f64
        ));
        assert!(
            close(mean("refunds"), sent.refund_sum / sent.units as f64),
            "{device}/{variant}"
        );
        assert!(close(mean("tickets"), sent.tickets_sum / sent.units as f64));
        assert_eq!(
            metric("nps")["units"],
            sent.nps_answers,
            "NPS counts units that answered"
        );
        assert!(close(mean("nps"), sent.nps_sum / sent.nps_answers as f64));
    }
    // The lift lives on mobile: Q on the purchase stage says the effect differs by device.
    let q = body["heterogeneity"]
        .as_array()
        .expect("heterogeneity")
        .iter()
        .find(|entry| entry["stage"] == "purchase" && entry["variant"] == "one_click")
        .expect("purchase heterogeneity");
    assert_eq!(q["df"], 1, "{q}");
    assert!(q["p_value"].as_f64().expect("p") < 0.001, "{q}");
    // Tickets were drawn the same way everywhere: no difference to find.
    let tickets_q = body["heterogeneity"]
        .as_array()
        .expect("heterogeneity")
        .iter()
        .find(|entry| entry["metric"] == "tickets")
        .expect("tickets heterogeneity");
    assert!(
        tickets_q["p_value"].as_f64().expect("p") > 0.01,
        "{tickets_q}"
    );

    // The whole experiment is the sum of the slices; the 168 h windows have not passed yet.
    let results = api.get(&format!("/v1/experiments/{KEY}/results")).body;
    let units: u64 = results["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["units"].as_u64().expect("units"))
        .sum();
    assert_eq!(units, UNITS);
    let refunds = named(&results["metrics"], "metric", "refunds");
    assert_eq!(refunds["direction"], "decrease");
    assert_eq!(
        variant_of(&refunds["variants"], "control")["mature_units"],
        0
    );

    // A bad survey answer is refused by index and field; nothing counted changes.
    let before = api.get(&format!("/v1/experiments/{KEY}/results")).body;
    let reply = api.post(
        "/v1/events",
        &json!({"events": [
            {"id": "kpi-bad-survey", "unit_id": "kpi-0", "name": "survey", "value": 11},
            {"id": "kpi-no-answer", "unit_id": "kpi-2", "name": "survey"},
        ]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 0, "{}", reply.body);
    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{}", reply.body);
    assert!(
        errors.iter().all(|error| error["field"] == "value"),
        "{}",
        reply.body
    );
    assert_eq!(
        api.get(&format!("/v1/experiments/{KEY}/results")).body,
        before
    );

    // An unknown attribute is a 404 naming the ones there are.
    let unknown = api.get(&format!("/v1/experiments/{KEY}/results/segments/browser"));
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(
        unknown.body["detail"].to_string().contains("device"),
        "{}",
        unknown.body
    );

    // Over time: no day yet, then today's snapshot, read back as a day of results.
    let daily = api.get(&format!("/v1/experiments/{KEY}/results/daily"));
    assert_eq!(daily.status, 200, "{}", daily.body);
    assert_eq!(daily.body["days"], json!([]));
    let taken = api.post(&format!("/v1/experiments/{KEY}/snapshot"), &json!({}));
    assert_eq!(taken.status, 200, "{}", taken.body);
    let date = taken.body["date"].as_str().expect("date").to_owned();
    assert_eq!(date.len(), 10, "{date}");
    let daily = api
        .get(&format!("/v1/experiments/{KEY}/results/daily"))
        .body;
    let days = daily["days"].as_array().expect("days");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], date.as_str());
    assert_eq!(days[0]["variants"], before["variants"]);
    assert_eq!(days[0]["stages"], before["stages"]);
    // Each day says how many units had had a metric's whole window by its end (today: now).
    let refunds_today = named(&days[0]["metrics"], "metric", "refunds");
    assert_eq!(
        variant_of(&refunds_today["variants"], "control")["mature_units"],
        0
    );
}
