//! Plugin health as a built-in guardrail, end to end: two servers on one Redis, checking every
//! second. The `flaky-variant` plugin traps in its payload hook for one variant only; that
//! variant's share of plugin calls that fell back rises above control's and the experiment is
//! stopped (webhook, audit entry with the reason). The same plugin configured healthy, for an
//! experiment assigned first, leaves it running. Results show the per-variant health.

use crate::client::Api;
use crate::guardrails::{checkers_looked_again, guardrail_entries, touchpoint, webhook_receiver};
use crate::journey::checkout_experiment;
use crate::redis_backed::eventually;
use serde_json::{Value, json};
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::plugins::plugin_bytes;
use touchstone_testkit::redis::RedisServer;

const UNITS: usize = 200;

/// Binds `flaky-variant` with `config` at the experiment's touchpoint on both servers (plugins
/// and bindings are each server's own), then defines and starts it (its guardrail is plugin
/// health alone: no guardrail metric).
fn start_with_plugin(apis: [&Api; 2], key: &str, config: Value) {
    for api in apis {
        let reply = api.put(
            &format!("/v1/touchpoints/{}", touchpoint(key)),
            &json!({"plugin": "flaky-variant", "config": config}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let mut definition = checkout_experiment(key);
    definition["touchpoint"] = json!(touchpoint(key));
    apis[0].define_and_start(key, &definition);
}

/// `UNITS` units assigned alternately through both servers; every one gets a variant — unless
/// `may_stop` and the guardrail already stopped the experiment (it checks every second, and a
/// broken plugin's fallbacks can be evident before the last unit arrives): then the rest would
/// rightly get nothing, and the assigning ends there.
fn assign_units(apis: [&Api; 2], key: &str, may_stop: bool) -> usize {
    let running = eventually(Duration::from_secs(10), || {
        apis[1].get(&format!("/v1/experiments/{key}")).body["status"] == "running"
    });
    assert!(running, "the second server never saw {key} running");
    for index in 0..UNITS {
        let api = apis[index % 2];
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": format!("{key}-unit-{index}"), "touchpoint": touchpoint(key)}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.body["assignments"][0]["variant"].is_string() {
            continue;
        }
        let stopped = api.get(&format!("/v1/experiments/{key}")).body["status"] == "stopped";
        assert!(
            may_stop && stopped,
            "unit {index} got no variant: {}",
            reply.body
        );
        return index;
    }
    UNITS
}

/// The results' plugin health, once every call of the `units` assigns (eligible + payload
/// each) has been flushed by both servers.
fn flushed_health(api: &Api, key: &str, units: usize, servers: [&TouchstoneServer; 2]) -> Value {
    let mut health = Value::Null;
    let flushed = eventually(Duration::from_secs(30), || {
        health = api.get(&format!("/v1/experiments/{key}/results")).body["plugin_health"].clone();
        let calls: u64 = health
            .as_array()
            .map(|variants| variants.iter().filter_map(|v| v["calls"].as_u64()).sum())
            .unwrap_or(0);
        calls == 2 * units as u64
    });
    assert!(
        flushed,
        "plugin calls never all reached the store: {health}\n{}\n{}",
        servers[0].logs(),
        servers[1].logs()
    );
    health
}

#[test]
fn a_plugin_failing_for_one_variant_stops_the_experiment_and_a_healthy_one_does_not() {
    let (url, notices) = webhook_receiver();
    let redis = RedisServer::start();
    let env = [
        ("TOUCHSTONE__STORE__URL", redis.url()),
        (
            "TOUCHSTONE__GUARDRAILS__CHECK_INTERVAL_SECONDS",
            "1".to_owned(),
        ),
        ("TOUCHSTONE__GUARDRAILS__MIN_UNITS", "50".to_owned()),
        ("TOUCHSTONE__GUARDRAILS__WEBHOOK_URL", url),
        ("TOUCHSTONE__PLUGINS__EPOCH_TICKS", "200".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (TouchstoneServer::start(&env), TouchstoneServer::start(&env));
    let (api, other) = (Api::new(a.base_url()), Api::new(b.base_url()));
    for server in [&api, &other] {
        let reply = server.put_bytes("/v1/plugins/flaky-variant", plugin_bytes("flaky-variant"));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    // Healthy first, and wait until all its calls are in the store, so every check that
    // looks at the broken experiment below also sees the healthy one's full counts.
    let healthy = "plugin-health-ok";
    start_with_plugin([&api, &other], healthy, json!({}));
    let units = assign_units([&api, &other], healthy, false);
    let health = flushed_health(&api, healthy, units, [&a, &b]);
    for variant in health.as_array().expect("per variant") {
        assert_eq!(variant["fallbacks"], 0, "{health}");
    }

    let broken = "plugin-health-broken";
    start_with_plugin(
        [&api, &other],
        broken,
        json!({"fail_variant": "threshold_35"}),
    );
    let broken_units = assign_units([&api, &other], broken, true);
    let stopped = eventually(Duration::from_secs(60), || {
        other.get(&format!("/v1/experiments/{broken}")).body["status"] == "stopped"
    });
    assert!(
        stopped,
        "the plugin-health guardrail never stopped {broken}"
    );

    let notice = notices
        .recv_timeout(Duration::from_secs(60))
        .expect("the webhook receiver got the action");
    assert_eq!(notice["experiment"], broken);
    assert_eq!(notice["variant"], "threshold_35");
    assert_eq!(notice["metric"], "plugin_fallbacks");
    assert_eq!(notice["kind"], "plugin_health");
    assert_eq!(notice["action"], "stop");
    // Each treatment assign: eligible ok, payload trapped — half its calls fell back (a
    // flush between one request's two calls may leave one payload call for the next look).
    let estimate = notice["estimate"].as_f64().expect("estimate");
    assert!(estimate > 0.45 && estimate <= 0.5, "{notice}");

    let entries = guardrail_entries(&api, broken);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let reason = &entries[0]["changes"]["reason"]["guardrail"][0];
    assert_eq!(reason["kind"], "plugin_health");
    let message = reason["message"].as_str().expect("a sentence");
    assert!(message.starts_with("plugin fallbacks"), "{message}");

    let health = flushed_health(&api, broken, broken_units, [&a, &b]);
    assert_eq!(health[0]["key"], "control");
    assert_eq!(health[0]["fallback_share"], 0.0, "{health}");
    assert_eq!(health[1]["fallback_share"], 0.5, "{health}");
    let low = health[1]["vs_control"]["sequential"]["ci"][0]
        .as_f64()
        .expect("an interval");
    assert!(low > 0.0, "{health}");

    // The healthy experiment was checked with all its calls on every one of those looks.
    checkers_looked_again([&api, &other], 3);
    assert!(notices.try_recv().is_err(), "a second notice arrived");
    assert_eq!(
        api.get(&format!("/v1/experiments/{healthy}")).body["status"],
        "running"
    );
    assert!(guardrail_entries(&api, healthy).is_empty());
}
