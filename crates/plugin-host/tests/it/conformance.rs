//! The same conformance checks for every example plugin, whatever language it was written in:
//! Rust (SDK), C (clang + lld) and WebAssembly text (wabt), all built from source by
//! `scripts/build-plugins.sh`. Each one loads, answers only what it was asked, survives the
//! inputs ABI.md promises at their edges (`config` null, `attributes` {}, the largest legal
//! request) with an answer or its own error — never a trap — within the default fuel budget,
//! and gives the same answer whether a request's calls share an instance or not.

use crate::{host, load};
use serde_json::{Map, Value, json};
use touchstone_plugin_host::{
    Assignment, EligibleContext, Hook, LoadedPlugin, PayloadContext, PluginError,
};

/// Every example plugin with an `eligible` hook, and a binding config it understands.
fn examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "checkout-free-shipping",
            json!({"countries": ["DE", "FR"], "thresholds": {"EUR": 50.0}}),
        ),
        (
            "pdp-ugc-gallery",
            json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
        ),
        (
            "c-checkout-eligibility",
            json!({"countries": ["DE", "FR"], "min_cart": 20}),
        ),
        ("wat-all-eligible", Value::Null),
    ]
}

fn typical_attributes() -> Map<String, Value> {
    json!({"country": "DE", "currency": "EUR", "cart_value": 32.5, "cart_total": 32.5,
           "device": "mobile", "photo_count": 5})
    .as_object()
    .cloned()
    .expect("object")
}

/// The largest request the server accepts by default: 50 attributes, keys and values of 256
/// bytes (`assign.max_attributes`, `limits.max_string_bytes`), and a 256-byte unit id.
fn attributes_at_bounds() -> Map<String, Value> {
    let mut attributes = typical_attributes();
    let mut index = 0;
    while attributes.len() < 50 {
        let prefix = format!("_bound_{index:03}_");
        attributes.insert(
            format!("{prefix}{}", "k".repeat(256 - prefix.len())),
            Value::String("v".repeat(256)),
        );
        index += 1;
    }
    attributes
}

fn eligible_ctx(attributes: Map<String, Value>, config: Value) -> EligibleContext {
    EligibleContext {
        unit_id: "u-conformance".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["first".into(), "second".into()],
        attributes,
        config,
    }
}

fn answered_only_what_was_asked(name: &str, plugin: &LoadedPlugin, ctx: &EligibleContext) {
    match plugin.eligible(ctx) {
        Ok(answer) => assert!(
            answer.keys().all(|key| ctx.experiments.contains(key)),
            "{name}: {answer:?}"
        ),
        Err(PluginError::Guest(message)) => assert!(!message.is_empty(), "{name}"),
        Err(other) => panic!("{name} failed instead of answering: {other}"),
    }
}

#[test]
fn every_example_answers_a_typical_request_for_every_experiment_asked() {
    let host = host();
    for (name, config) in examples() {
        let plugin = load(&host, name);
        let answer = plugin
            .eligible(&eligible_ctx(typical_attributes(), config))
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(
            answer.keys().collect::<Vec<_>>(),
            ["first", "second"],
            "{name}"
        );
    }
}

#[test]
fn every_example_survives_a_null_config_and_no_attributes_without_trapping() {
    let host = host();
    for (name, config) in examples() {
        let plugin = load(&host, name);
        answered_only_what_was_asked(name, &plugin, &eligible_ctx(Map::new(), config));
        answered_only_what_was_asked(
            name,
            &plugin,
            &eligible_ctx(typical_attributes(), Value::Null),
        );
    }
}

#[test]
fn every_example_decides_the_largest_legal_request_within_the_default_fuel_budget() {
    let host = host();
    for (name, config) in examples() {
        let plugin = load(&host, name);
        let mut ctx = eligible_ctx(attributes_at_bounds(), config);
        ctx.unit_id = "u".repeat(256);
        let mut session = plugin.session();
        let answer = session.eligible(&ctx);
        let fuel = session.last_fuel().expect("the host meters fuel");
        assert!(answer.is_ok(), "{name}: {answer:?} after {fuel} fuel");
        assert!(fuel < plugin.limits().fuel, "{name}: {fuel}");
    }
}

#[test]
fn every_call_records_the_fuel_it_used_per_plugin_and_hook() {
    let host = host();
    let plugin = load(&host, "c-checkout-eligibility");
    let config = json!({"countries": ["DE"], "min_cart": 20});
    for _ in 0..10 {
        plugin
            .eligible(&eligible_ctx(typical_attributes(), config.clone()))
            .expect("answers");
    }
    let stats = host.fuel_stats();
    let [c] = stats.as_slice() else {
        panic!("one plugin and hook measured: {stats:?}")
    };
    assert_eq!(
        (c.plugin.as_str(), c.hook, c.calls),
        ("c-checkout-eligibility", Hook::Eligible, 10)
    );
    assert!(c.p50 > 100 && c.p50 <= c.p99 && c.p99 <= c.max, "{c:?}");
}

#[test]
fn the_c_plugin_takes_carts_from_the_minimum_up_in_the_listed_countries() {
    let host = host();
    let plugin = load(&host, "c-checkout-eligibility");
    let config = json!({"countries": ["DE", "FR"], "min_cart": 20});
    let decide = |attributes: Value| {
        let attributes = attributes.as_object().cloned().expect("object");
        let answer = plugin
            .eligible(&eligible_ctx(attributes, config.clone()))
            .expect("answers");
        assert_eq!(answer["first"], answer["second"]);
        answer["first"]
    };
    assert!(decide(json!({"country": "DE", "cart_total": 32.5})));
    assert!(decide(json!({"country": "FR", "cart_total": 20})));
    assert!(decide(json!({"country": "FR", "cart_total": 2e1})));
    assert!(!decide(json!({"country": "FR", "cart_total": 19.99})));
    assert!(!decide(json!({"country": "US", "cart_total": 99})));
    assert!(!decide(json!({"country": "DE"})));
    assert!(!decide(json!({"country": "DE", "cart_total": "32.5"})));
}

#[test]
fn the_c_plugin_reports_a_missing_config_as_its_own_error_and_logs_a_missing_cart() {
    let host = host();
    let plugin = load(&host, "c-checkout-eligibility");
    let error = plugin
        .eligible(&eligible_ctx(typical_attributes(), Value::Null))
        .expect_err("no config");
    assert!(
        matches!(&error, PluginError::Guest(message) if message.contains("config")),
        "{error}"
    );

    let mut session = plugin.session().capture_logs();
    let attributes = json!({"country": "DE"})
        .as_object()
        .cloned()
        .expect("object");
    session
        .eligible(&eligible_ctx(
            attributes,
            json!({"countries": ["DE"], "min_cart": 1}),
        ))
        .expect("answers");
    let logs = session.take_logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].level, 4);
    assert!(logs[0].message.contains("cart_total"), "{logs:?}");
}

#[test]
fn the_wat_plugin_makes_every_experiment_asked_eligible_and_logs_it() {
    let host = host();
    let plugin = load(&host, "wat-all-eligible");
    assert_eq!(
        plugin.abi_minor_version(),
        0,
        "it declares no version: ABI 1.0"
    );
    let mut session = plugin.session().capture_logs();
    let answer = session
        .eligible(&eligible_ctx(Map::new(), Value::Null))
        .expect("answers");
    assert!(answer["first"] && answer["second"]);
    assert_eq!(session.take_logs()[0].message, "all experiments eligible");
}

#[test]
fn a_session_gives_the_same_answers_as_separate_calls() {
    let host = host();
    let plugin = load(&host, "checkout-free-shipping");
    assert_eq!(plugin.abi_minor_version(), 1, "the SDK declares ABI 1.1");
    let config = json!({"countries": ["DE"], "thresholds": {"EUR": 50.0}});
    let eligible = eligible_ctx(typical_attributes(), config.clone());
    let payload = PayloadContext {
        unit_id: "u-conformance".into(),
        touchpoint: "checkout.shipping".into(),
        assignments: vec![Assignment {
            experiment: "first".into(),
            variant: "treatment".into(),
            payload: json!({"style": "banner"}),
        }],
        attributes: typical_attributes(),
        config,
    };
    let mut session = plugin.session();
    let shared = (
        session.eligible(&eligible).expect("eligible"),
        session.payload(&payload).expect("payload"),
    );
    let separate = (
        plugin.eligible(&eligible).expect("eligible"),
        plugin.payload(&payload).expect("payload"),
    );
    assert_eq!(shared, separate);
}
