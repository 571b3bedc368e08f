//! Guardrails that act (issue 10), end to end over HTTP with a real Redis and two server
//! processes checking every second: a variant that multiplies `checkout_error` is stopped (or
//! rolled back to control) by exactly one of them, the webhook reaches a local receiver, and
//! the action is in the audit log with actor `guardrail` and its reason.

use crate::client::Api;
use crate::journey::checkout_experiment;
use crate::redis_backed::eventually;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

/// A webhook receiver on a free port: every POST body, parsed, arrives on the channel.
pub(crate) fn webhook_receiver() -> (String, Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let (sender, bodies) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Some(value) = answer_post(&mut stream) {
                let _ = sender.send(value);
            }
        }
    });
    (url, bodies)
}

/// Reads one HTTP/1.1 POST from `stream`, answers 200 and returns the JSON body (`None` when
/// the request breaks off or is not JSON).
pub(crate) fn answer_post(stream: &mut (impl Read + Write)) -> Option<Value> {
    let mut reader = BufReader::new(&mut *stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .ok()?;
    let _ = stream.flush();
    serde_json::from_slice(&body).ok()
}

pub(crate) fn touchpoint(key: &str) -> String {
    format!("guard.{key}")
}

pub(crate) fn guarded_experiment(key: &str, action: &str) -> Value {
    let mut definition = checkout_experiment(key);
    // A touchpoint of its own: other tests' experiments share this Redis.
    definition["touchpoint"] = json!(touchpoint(key));
    definition["metrics"] = json!([{"key": "checkout_error", "kind": "count",
        "event": "checkout_error", "direction": "decrease", "role": "guardrail"}]);
    definition["guardrail_action"] = json!(action);
    definition
}

/// 400 units assigned through both servers; every treatment unit then errs three times, one
/// control unit in ten once. Returns the units by variant.
pub(crate) fn expose_and_break_checkout(apis: [&Api; 2], key: &str) -> (Vec<String>, Vec<String>) {
    expose_and_break_checkout_as(apis, key, &format!("{key}-unit"))
}

/// [`expose_and_break_checkout`] with units named `{prefix}-{index}`.
fn expose_and_break_checkout_as(
    apis: [&Api; 2],
    key: &str,
    prefix: &str,
) -> (Vec<String>, Vec<String>) {
    let running = eventually(Duration::from_secs(10), || {
        apis[1].get(&format!("/v1/experiments/{key}")).body["status"] == "running"
    });
    assert!(running, "the second server never saw {key} running");
    let (mut control, mut treatment) = (Vec::new(), Vec::new());
    let mut events = Vec::new();
    for index in 0..400 {
        let unit = format!("{prefix}-{index}");
        let reply = apis[index % 2].post(
            "/v1/assign",
            &json!({"unit_id": unit, "touchpoint": touchpoint(key)}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let errors = match reply.body["assignments"][0]["variant"].as_str() {
            Some("control") => {
                control.push(unit.clone());
                usize::from(control.len() % 10 == 0)
            }
            Some(_) => {
                treatment.push(unit.clone());
                3
            }
            None => panic!("{unit} not assigned: {}", reply.body),
        };
        for error in 0..errors {
            events.push(
                json!({"id": format!("{unit}-error-{error}"), "unit_id": unit,
                               "name": "checkout_error"}),
            );
        }
    }
    for batch in events.chunks(500) {
        let reply = apis[0].post("/v1/events", &json!({ "events": batch }));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    (control, treatment)
}

pub(crate) fn guardrail_entries(api: &Api, key: &str) -> Vec<Value> {
    let log = api.get(&format!("/v1/audit?experiment={key}"));
    assert_eq!(log.status, 200, "{}", log.body);
    log.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["key_id"] == "guardrail")
        .cloned()
        .collect()
}

/// Two servers on `redis`. Each guardrail test has a Redis of its own: every server checks
/// every running experiment in its store, so a shared Redis would let one test's servers act
/// on (and notify about) another test's experiments.
/// The guardrail rounds a server has completed (`touchstone_guardrail_rounds_total`).
fn checker_rounds(api: &Api) -> u64 {
    let metrics = api.get_text("/metrics");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("touchstone_guardrail_rounds_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |rounds| rounds as u64)
}

/// Waits until every server's guardrail checker completed `rounds` more rounds: proof that
/// nothing happened on those looks, without a sleep that only hopes they happened.
pub fn checkers_looked_again<const N: usize>(servers: [&Api; N], rounds: u64) {
    let start: Vec<u64> = servers.iter().map(|api| checker_rounds(api)).collect();
    let looked = eventually(Duration::from_secs(60), || {
        servers
            .iter()
            .zip(&start)
            .all(|(api, start)| checker_rounds(api) >= start + rounds)
    });
    assert!(looked, "the guardrail checkers stopped looking");
}

fn two_servers(redis: &RedisServer, webhook: &str) -> (TouchstoneServer, TouchstoneServer) {
    let redis = redis.url();
    let env = [
        ("TOUCHSTONE__STORE__URL", redis.as_str()),
        ("TOUCHSTONE__GUARDRAILS__CHECK_INTERVAL_SECONDS", "1"),
        ("TOUCHSTONE__GUARDRAILS__MIN_UNITS", "50"),
        ("TOUCHSTONE__GUARDRAILS__WEBHOOK_URL", webhook),
    ];
    (TouchstoneServer::start(&env), TouchstoneServer::start(&env))
}

#[test]
fn a_variant_that_multiplies_checkout_errors_is_stopped_once_with_webhook_and_audit() {
    let (url, notices) = webhook_receiver();
    let redis = RedisServer::start();
    let (a, b) = two_servers(&redis, &url);
    let (api, other) = (Api::new(a.base_url()), Api::new(b.base_url()));
    let key = "guardrail-stop";
    api.define_and_start(key, &guarded_experiment(key, "stop"));
    let (control, treatment) = expose_and_break_checkout([&api, &other], key);
    assert!(control.len() >= 50 && treatment.len() >= 50);

    let stopped = eventually(Duration::from_secs(60), || {
        other.get(&format!("/v1/experiments/{key}")).body["status"] == "stopped"
    });
    assert!(stopped, "the guardrail never stopped {key}");

    let notice = notices
        .recv_timeout(Duration::from_secs(60))
        .expect("the webhook receiver got the action");
    assert_eq!(notice["experiment"], key);
    assert_eq!(notice["variant"], "threshold_35");
    assert_eq!(notice["metric"], "checkout_error");
    assert_eq!(notice["action"], "stop");
    assert!(notice["time"].is_string(), "{notice}");
    let estimate = notice["estimate"].as_f64().expect("estimate");
    let interval = &notice["interval"];
    let low = interval[0].as_f64().expect("interval");
    assert!(low > 0.0 && low < estimate, "{notice}");
    assert!(
        interval[1].as_f64().expect("interval") > estimate,
        "{notice}"
    );

    // Both servers kept checking for a few more rounds: still exactly one action.
    checkers_looked_again([&api, &other], 3);
    assert!(notices.try_recv().is_err(), "a second notice arrived");
    let entries = guardrail_entries(&api, key);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "stop");
    assert_eq!(
        entries[0]["changes"]["status"],
        json!({"from": "running", "to": "stopped"})
    );
    let reason = &entries[0]["changes"]["reason"]["guardrail"][0];
    assert_eq!(reason["variant"], "threshold_35");
    assert_eq!(reason["metric"], "checkout_error");
    assert_eq!(reason["estimate"], notice["estimate"]);
}

#[test]
fn a_rollback_serves_controls_payload_to_every_unit_and_an_alert_only_notifies() {
    let (url, notices) = webhook_receiver();
    let redis = RedisServer::start();
    let (a, b) = two_servers(&redis, &url);
    let (api, other) = (Api::new(a.base_url()), Api::new(b.base_url()));
    let (rolled, alerted) = ("guardrail-rollback", "guardrail-alert");
    api.define_and_start(rolled, &guarded_experiment(rolled, "rollback"));
    let (_, treatment) = expose_and_break_checkout([&api, &other], rolled);
    let shipped = eventually(Duration::from_secs(60), || {
        other.get(&format!("/v1/experiments/{rolled}")).body["status"] == "shipped"
    });
    assert!(shipped, "the guardrail never rolled {rolled} back");
    let reply = other.post(
        "/v1/assign",
        &json!({"unit_id": treatment[0], "touchpoint": touchpoint(rolled)}),
    );
    assert_eq!(
        reply.body["assignments"],
        json!([{"experiment": rolled, "variant": "control", "payload": {"threshold": 50}, "shipped": true}])
    );
    let notice = notices
        .recv_timeout(Duration::from_secs(60))
        .expect("rollback notice");
    assert_eq!(notice["action"], "rollback");
    let entries = guardrail_entries(&api, rolled);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "ship");
    assert_eq!(entries[0]["changes"]["variant"], "control");

    // An alert: notified once, and the experiment keeps running.
    api.define_and_start(alerted, &guarded_experiment(alerted, "alert"));
    expose_and_break_checkout([&api, &other], alerted);
    let notice = notices
        .recv_timeout(Duration::from_secs(60))
        .expect("alert notice");
    assert_eq!(notice["experiment"], alerted);
    assert_eq!(notice["action"], "alert");
    checkers_looked_again([&api, &other], 3);
    assert!(notices.try_recv().is_err(), "the alert repeated");
    assert_eq!(
        api.get(&format!("/v1/experiments/{alerted}")).body["status"],
        "running"
    );
    assert!(guardrail_entries(&api, alerted).is_empty());
}

#[test]
fn a_restart_in_a_new_phase_rearms_the_guardrail_at_once() {
    let (url, _notices) = webhook_receiver();
    let redis = RedisServer::start();
    let (a, b) = two_servers(&redis, &url);
    let (api, other) = (Api::new(a.base_url()), Api::new(b.base_url()));
    let key = "guardrail-restart";
    api.define_and_start(key, &guarded_experiment(key, "stop"));
    expose_and_break_checkout([&api, &other], key);
    let stopped = || {
        eventually(Duration::from_secs(60), || {
            other.get(&format!("/v1/experiments/{key}")).body["status"] == "stopped"
        })
    };
    assert!(stopped(), "the guardrail never stopped {key}");
    // The stop holds its claim for ten check intervals; a restart drops it.
    let claim = format!("{{exp:{key}}}:guard:harm");
    assert_eq!(redis.cli(&["EXISTS", &claim]).trim(), "1");
    let restarted = api.post(
        &format!("/v1/experiments/{key}/start"),
        &json!({"reason": "checkout fixed, we think", "new_phase": true}),
    );
    assert_eq!(restarted.status, 200, "{}", restarted.body);
    assert_eq!(restarted.body["status"], "running");
    assert_eq!(restarted.body["phase"], 2);
    assert_eq!(
        redis.cli(&["EXISTS", &claim]).trim(),
        "0",
        "the claim is gone"
    );
    let start = api.get(&format!("/v1/audit?experiment={key}")).body["entries"][0].clone();
    assert_eq!(start["action"], "start");
    assert_eq!(start["changes"]["reason"], "checkout fixed, we think");
    assert_eq!(start["changes"]["phase"], json!({"from": 1, "to": 2}));
    // Restarting again is refused: it runs.
    let again = api.post(
        &format!("/v1/experiments/{key}/start"),
        &json!({"new_phase": true}),
    );
    assert_eq!(again.status, 409, "{}", again.body);

    // Still broken in the new phase: stopped again by the re-armed guardrail.
    expose_and_break_checkout_as([&api, &other], key, &format!("{key}-phase-2"));
    assert!(
        stopped(),
        "the re-armed guardrail never stopped {key} again"
    );
    let entries = guardrail_entries(&api, key);
    assert_eq!(entries.len(), 2, "{entries:?}");
}
