//! Writing a plugin without Rust, end to end: the C and WAT examples (built from source by
//! `scripts/build-plugins.sh`) tried with `touchstone plugin check` / `plugin run` exactly as
//! the server runs them, then uploaded, bound and deciding `/v1/assign`; the fuel each call
//! used visible in `GET /v1/plugins`; a plugin stopped for fuel counted as a plugin-health
//! fallback.

use crate::client::Api;
use crate::journey::checkout_experiment;
use crate::redis_backed::eventually;
use serde_json::{Value, json};
use std::process::{Command, Output};
use std::time::Duration;
use touchstone_testkit::binary::{TempDir, TouchstoneServer, touchstone_binary};
use touchstone_testkit::plugins::{plugin_bytes, plugin_path};

const PLUGIN_ENV: &[(&str, &str)] = &[("TOUCHSTONE__PLUGINS__EPOCH_TICKS", "200")];

/// `touchstone plugin …` with files written to a temporary directory; the deadline is
/// generous (busy CI), fuel stays the bound.
fn plugin_command(args: &[&str], files: &[(&str, Value)], env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new("plugin-cli");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content.to_string()).expect("writing an input file");
    }
    Command::new(touchstone_binary())
        .arg("plugin")
        .args(args)
        .current_dir(dir.path())
        .env("TOUCHSTONE__PLUGINS__EPOCH_TICKS", "200")
        .envs(env.iter().copied())
        .output()
        .expect("running touchstone plugin")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn c_plugin() -> String {
    plugin_path("c-checkout-eligibility").display().to_string()
}

fn request(attributes: Value) -> Value {
    json!({"unit_id": "shopper-7", "touchpoint": "checkout.shipping", "attributes": attributes})
}

#[test]
fn plugin_run_decides_a_real_assign_request_and_prints_logs_fuel_and_time() {
    let output = plugin_command(
        &[
            "run",
            &c_plugin(),
            "--request",
            "assign.json",
            "--config",
            "config.json",
            "--experiments",
            "banner,bar",
        ],
        &[
            (
                "assign.json",
                request(json!({"country": "DE", "cart_total": 42.0})),
            ),
            (
                "config.json",
                json!({"countries": ["DE", "FR"], "min_cart": 20}),
            ),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let call = &printed["calls"][0];
    assert_eq!(call["hook"], "eligible");
    assert_eq!(call["answer"], json!({"banner": true, "bar": true}));
    assert!(call["fuel_used"].as_u64().expect("fuel") > 0, "{printed}");
    assert_eq!(call["fuel_limit"], 1_000_000);
    assert!(call["wall_time_us"].is_u64(), "{printed}");

    // The plugin's own log line, when the cart total is missing.
    let output = plugin_command(
        &[
            "run",
            &c_plugin(),
            "--request",
            "assign.json",
            "--config",
            "config.json",
        ],
        &[
            ("assign.json", request(json!({"country": "DE"}))),
            ("config.json", json!({"countries": ["DE"], "min_cart": 20})),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("plugin log [debug] no numeric cart_total attribute"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn plugin_run_fails_with_the_servers_message_where_the_server_would_fall_back() {
    // An answer the server refuses: a key given twice.
    let output = plugin_command(
        &[
            "run",
            &plugin_path("wat-hostile-duplicate-key")
                .display()
                .to_string(),
            "--request",
            "assign.json",
            "--experiments",
            "a",
        ],
        &[("assign.json", request(json!({})))],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("experiment `a` is answered twice"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the server would apply the safe default: no experiment is eligible"),
        "{stderr}"
    );

    // A request the server would refuse is refused here, naming the field.
    let output = plugin_command(
        &["run", &c_plugin(), "--request", "assign.json"],
        &[("assign.json", json!({"unit_id": "", "touchpoint": "t"}))],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("unit_id"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn plugin_check_refuses_what_upload_refuses_with_the_same_words() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    for module in [
        "wat-hostile-start-loop",
        "wat-hostile-big-memory",
        "wat-future-abi",
    ] {
        let output = plugin_command(
            &["check", &plugin_path(module).display().to_string()],
            &[],
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{module}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("the report");
        let refused = report["refused"].as_str().expect("refused").to_owned();
        let upload = api.put_bytes(&format!("/v1/plugins/{module}"), plugin_bytes(module));
        assert_eq!(upload.status, 400, "{module}");
        assert_eq!(
            upload.body["detail"].as_str(),
            Some(format!("plugin refused: {refused}").as_str()),
            "{module}"
        );
    }
}

#[test]
fn plugin_check_warns_when_the_largest_legal_request_needs_more_fuel_than_the_budget() {
    let files = [
        (
            "assign.json",
            request(json!({"country": "DE", "cart_total": 42.0})),
        ),
        ("config.json", json!({"countries": ["DE"], "min_cart": 20})),
    ];
    let args = [
        "check",
        &c_plugin(),
        "--request",
        "assign.json",
        "--config",
        "config.json",
    ];
    let roomy = plugin_command(&args, &files, &[]);
    assert!(roomy.status.success(), "{}", text(&roomy.stderr));
    let report: Value = serde_json::from_slice(&roomy.stdout).expect("JSON");
    let typical = report["typical"][0]["fuel_used"].as_u64().expect("fuel");
    let at_bounds = report["at_bounds"][0]["fuel_used"].as_u64().expect("fuel");
    assert!(at_bounds > 10 * typical, "{report}");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .all(|w| !w.as_str().unwrap_or("").contains("more than the budget")),
        "{report}"
    );

    // With a budget between the two, only the largest request runs out.
    let budget = ((typical + at_bounds) / 2).to_string();
    let tight = plugin_command(&args, &files, &[("TOUCHSTONE__PLUGINS__FUEL", &budget)]);
    assert!(tight.status.success(), "{}", text(&tight.stderr));
    let stderr = text(&tight.stderr);
    assert!(
        stderr.contains(&format!("on the largest legal request the eligible hook needs {at_bounds} fuel, more than the budget of {budget}")),
        "{stderr}"
    );
}

#[test]
fn a_c_plugin_decides_assign_over_http_and_its_fuel_shows_in_the_plugin_list() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    let name = "c-checkout-eligibility";
    assert_eq!(
        api.put_bytes(&format!("/v1/plugins/{name}"), plugin_bytes(name))
            .status,
        200
    );
    let bound = api.put(
        "/v1/touchpoints/checkout.shipping",
        &json!({"plugin": name, "config": {"countries": ["DE"], "min_cart": 20}}),
    );
    assert_eq!(bound.status, 200, "{}", bound.body);
    api.define_and_start("c-eligibility", &checkout_experiment("c-eligibility"));
    let assign = |unit: &str, attributes: Value| {
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": unit, "touchpoint": "checkout.shipping", "attributes": attributes}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["assignments"]
            .as_array()
            .expect("assignments")
            .len()
    };
    assert_eq!(assign("u-1", json!({"country": "DE", "cart_total": 25})), 1);
    assert_eq!(assign("u-2", json!({"country": "US", "cart_total": 25})), 0);
    assert_eq!(assign("u-3", json!({"country": "DE", "cart_total": 5})), 0);

    let plugins = api.get("/v1/plugins").body;
    let plugin = plugins["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["name"] == name)
        .expect("listed")
        .clone();
    let fuel = &plugin["fuel"][0];
    assert_eq!(fuel["hook"], "eligible", "{plugin}");
    assert_eq!(fuel["calls"], 3, "{plugin}");
    let (p50, p99) = (
        fuel["p50"].as_u64().expect("p50"),
        fuel["p99"].as_u64().expect("p99"),
    );
    assert!(0 < p50 && p50 <= p99, "{plugin}");
    assert!(
        api.get_text("/metrics")
            .contains("touchstone_plugin_fuel_used")
    );
}

#[test]
fn a_plugin_stopped_for_fuel_counts_as_a_plugin_health_fallback() {
    let server = TouchstoneServer::start(PLUGIN_ENV);
    let api = Api::new(server.base_url());
    let name = "hostile-infinite-loop";
    assert_eq!(
        api.put_bytes(&format!("/v1/plugins/{name}"), plugin_bytes(name))
            .status,
        200
    );
    let bound = api.put("/v1/touchpoints/tp.fuel", &json!({"plugin": name}));
    assert_eq!(bound.status, 200, "{}", bound.body);
    let mut definition = checkout_experiment("fuel-fallback");
    definition["touchpoint"] = json!("tp.fuel");
    api.define_and_start("fuel-fallback", &definition);
    for unit in 0..4 {
        let reply = api.post(
            "/v1/assign",
            &json!({"unit_id": format!("u-{unit}"), "touchpoint": "tp.fuel"}),
        );
        assert_eq!(reply.body["assignments"], json!([]), "{}", reply.body);
    }
    let failures = api.get("/v1/plugins").body["plugins"][0]["failures"].clone();
    assert_eq!(
        failures,
        json!([{"hook": "eligible", "reason": "out_of_fuel", "count": 4}])
    );
    let mut health = Value::Null;
    let counted = eventually(Duration::from_secs(30), || {
        health = api.get("/v1/experiments/fuel-fallback/results").body["plugin_health"].clone();
        let total = |field: &str| -> u64 {
            health.as_array().map_or(0, |variants| {
                variants.iter().filter_map(|v| v[field].as_u64()).sum()
            })
        };
        total("calls") == 4 && total("fallbacks") == 4
    });
    assert!(counted, "{health}\n{}", server.logs());
}
