//! Every hostile plugin is contained: the right `PluginError`, counted, and the host keeps
//! serving good plugins — also while hostile calls run on other threads.

use crate::{host, load};
use serde_json::json;
use std::sync::Arc;
use touchstone_plugin_host::{EligibleContext, Hook, HostConfig, Limits, PluginError, PluginHost};

fn ctx() -> EligibleContext {
    EligibleContext {
        unit_id: "u-hostile".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["checkout".into()],
        attributes: json!({"photo_count": 5})
            .as_object()
            .cloned()
            .expect("object"),
        config: json!({"min_photos": 3, "photos_by_device": {}, "default_photos": 2}),
    }
}

fn call(host: &PluginHost, name: &str) -> PluginError {
    let plugin = load(host, name);
    plugin.eligible(&ctx()).expect_err("a hostile plugin fails")
}

/// A good plugin still answers correctly on the same host.
fn still_works(host: &PluginHost) {
    let gallery = load(host, "pdp-ugc-gallery");
    assert!(gallery.eligible(&ctx()).expect("a good plugin runs")["checkout"]);
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let host = host();
    assert!(matches!(
        call(&host, "hostile-infinite-loop"),
        PluginError::OutOfFuel
    ));
    still_works(&host);
}

#[test]
fn an_infinite_loop_with_unlimited_fuel_hits_the_epoch_deadline() {
    let host = host();
    let limits = Limits {
        fuel: u64::MAX,
        ..Limits::default()
    };
    let bytes = touchstone_testkit::plugins::plugin_bytes("hostile-infinite-loop");
    let plugin = host
        .load_with_limits("loop", &bytes, limits)
        .expect("loads");
    assert!(matches!(
        plugin.eligible(&ctx()),
        Err(PluginError::Deadline)
    ));
    still_works(&host);
}

#[test]
fn an_infinite_loop_on_a_host_without_fuel_hits_the_epoch_deadline() {
    let host = PluginHost::new(HostConfig {
        consume_fuel: false,
        ..HostConfig::default()
    })
    .expect("starts");
    assert!(matches!(
        call(&host, "hostile-infinite-loop"),
        PluginError::Deadline
    ));
    still_works(&host);
}

#[test]
fn a_memory_growth_bomb_is_stopped_at_the_memory_limit() {
    let host = host();
    let error = call(&host, "hostile-memory-bomb");
    assert!(matches!(error, PluginError::MemoryLimit), "{error:?}");
    still_works(&host);
}

#[test]
fn unbounded_recursion_overflows_the_wasm_stack_not_the_server() {
    let host = host();
    let error = call(&host, "hostile-deep-recursion");
    assert!(matches!(error, PluginError::StackOverflow), "{error:?}");
    still_works(&host);
}

#[test]
fn a_huge_output_is_refused_by_size() {
    let host = host();
    let error = call(&host, "hostile-huge-output");
    assert!(
        matches!(error, PluginError::OutputTooLarge { limit, .. } if limit == 16 << 10),
        "{error:?}"
    );
    still_works(&host);
}

#[test]
fn output_that_is_not_json_is_malformed() {
    let host = host();
    let error = call(&host, "hostile-invalid-json");
    assert!(
        matches!(error, PluginError::MalformedOutput(_)),
        "{error:?}"
    );
    still_works(&host);
}

#[test]
fn a_panic_is_an_unreachable_trap() {
    let host = host();
    let error = call(&host, "hostile-unreachable");
    assert!(
        matches!(&error, PluginError::Trap(message) if message.contains("unreachable")),
        "{error:?}"
    );
    still_works(&host);
}

#[test]
fn an_input_over_the_limit_is_refused_before_the_plugin_runs() {
    let host = host();
    let plugin = load(&host, "pdp-ugc-gallery");
    let mut big = ctx();
    big.attributes
        .insert("padding".into(), json!("x".repeat(70 << 10)));
    assert!(matches!(
        plugin.eligible(&big),
        Err(PluginError::InputTooLarge { limit, .. }) if limit == 64 << 10
    ));
}

#[test]
fn failures_are_counted_per_plugin_hook_and_reason() {
    let host = host();
    let plugin = load(&host, "hostile-unreachable");
    for _ in 0..3 {
        let _ = plugin.eligible(&ctx());
    }
    let counts = host.failure_counts();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(
        (
            counts[0].plugin.as_str(),
            counts[0].hook,
            counts[0].reason,
            counts[0].count
        ),
        ("hostile-unreachable", Hook::Eligible, "trap", 3)
    );
}

#[test]
fn a_hook_the_plugin_does_not_export_is_an_error() {
    let host = host();
    let plugin = load(&host, "event-guard");
    assert!(matches!(
        plugin.eligible(&ctx()),
        Err(PluginError::HookMissing(Hook::Eligible))
    ));
}

#[test]
fn good_calls_on_other_threads_are_unaffected_while_hostile_plugins_run() {
    let host = host();
    let hostile: Vec<_> = [
        "hostile-infinite-loop",
        "hostile-memory-bomb",
        "hostile-deep-recursion",
        "hostile-huge-output",
        "hostile-unreachable",
    ]
    .into_iter()
    .map(|name| load(&host, name))
    .collect();
    // The epoch deadline is wall-clock time: with seven busy threads on a small machine a good
    // call can be descheduled for longer than 3 ms. This test is about isolation, so the good
    // plugin gets a deadline no scheduler delay reaches; fuel still bounds its CPU.
    let good = host
        .load_with_limits(
            "pdp-ugc-gallery",
            &touchstone_testkit::plugins::plugin_bytes("pdp-ugc-gallery"),
            Limits {
                epoch_ticks: 10_000,
                ..Limits::default()
            },
        )
        .expect("loads");
    std::thread::scope(|scope| {
        for plugin in &hostile {
            let plugin = Arc::clone(plugin);
            scope.spawn(move || {
                for _ in 0..10 {
                    assert!(plugin.eligible(&ctx()).is_err());
                }
            });
        }
        for _ in 0..2 {
            let good = Arc::clone(&good);
            scope.spawn(move || {
                for _ in 0..200 {
                    let answer = good.eligible(&ctx()).expect("the good plugin answers");
                    assert!(answer["checkout"]);
                }
            });
        }
    });
    let good_failures = host
        .failure_counts()
        .into_iter()
        .filter(|count| count.plugin == "pdp-ugc-gallery")
        .count();
    assert_eq!(good_failures, 0);
}
