//! The rules ABI.md decides where version 1.0 left them open, enforced by the host: which
//! calls share an instance (by declared ABI version, never across requests), duplicate answer
//! keys, `touchstone_alloc` returning 0 or a wild pointer, initial memory over the limit,
//! start functions that do not finish, and declared versions this host does not run. Each
//! with the test module built from `plugins/wat/` and the message an author reads.

use crate::{host, load};
use serde_json::{Value, json};
use touchstone_plugin_host::{
    Assignment, EligibleContext, PayloadContext, PluginError, PluginHost,
};
use touchstone_testkit::plugins::plugin_bytes;

fn eligible_ctx() -> EligibleContext {
    EligibleContext {
        unit_id: "u-rules".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["a".into()],
        attributes: Default::default(),
        config: Value::Null,
    }
}

fn payload_ctx() -> PayloadContext {
    PayloadContext {
        unit_id: "u-rules".into(),
        touchpoint: "checkout.shipping".into(),
        assignments: vec![Assignment {
            experiment: "a".into(),
            variant: "treatment".into(),
            payload: Value::Null,
        }],
        attributes: Default::default(),
        config: Value::Null,
    }
}

/// `eligible` then `payload` in one session; the count of calls the payload's instance served.
fn calls_seen_by_payload(host: &PluginHost, name: &str) -> Value {
    let plugin = load(host, name);
    let mut session = plugin.session();
    session.eligible(&eligible_ctx()).expect("eligible");
    session.payload(&payload_ctx()).expect("payload")["a"].clone()
}

#[test]
fn a_module_built_for_1_1_serves_one_requests_calls_from_one_instance_and_no_other_request() {
    let host = host();
    assert_eq!(calls_seen_by_payload(&host, "wat-counter-1-1"), json!(2));
    // A new request (session) starts from the module, not from the last request's instance.
    assert_eq!(calls_seen_by_payload(&host, "wat-counter-1-1"), json!(2));
    let plugin = load(&host, "wat-counter-1-1");
    assert_eq!(
        plugin.payload(&payload_ctx()).expect("payload")["a"],
        json!(1)
    );
}

#[test]
fn a_module_built_for_1_0_gets_a_fresh_instance_for_every_call() {
    let host = host();
    assert_eq!(calls_seen_by_payload(&host, "wat-counter-1-0"), json!(1));
}

#[test]
fn an_answer_naming_an_experiment_twice_is_refused() {
    let host = host();
    let plugin = load(&host, "wat-hostile-duplicate-key");
    let error = plugin.eligible(&eligible_ctx()).expect_err("refused");
    assert_eq!(error.reason(), "malformed_output");
    assert!(
        format!("{:?}", error).contains("experiment `a` is answered twice"),
        "{error:?}"
    );
}

#[test]
fn an_allocator_answering_0_is_a_failed_allocation() {
    let host = host();
    let plugin = load(&host, "wat-hostile-alloc-zero");
    let error = plugin.eligible(&eligible_ctx()).expect_err("refused");
    assert_eq!(error.reason(), "bad_alloc");
    assert!(error.to_string().contains("returned 0"), "{error}");
}

#[test]
fn a_wild_allocator_pointer_is_reported_as_such() {
    let host = host();
    let plugin = load(&host, "wat-hostile-wild-alloc");
    let error = plugin.eligible(&eligible_ctx()).expect_err("refused");
    assert_eq!(error.reason(), "bad_alloc");
    assert!(
        error
            .to_string()
            .contains("returned 4294967040, a wild pointer: its memory is 65536 bytes"),
        "{error}"
    );
    let failures = host.failure_counts();
    assert!(
        failures
            .iter()
            .any(|f| f.reason == "bad_alloc" && f.count == 1),
        "{failures:?}"
    );
}

#[test]
fn initial_memory_over_the_limit_is_refused_in_pages_and_mib_by_upload_and_check_alike() {
    let host = host();
    let bytes = plugin_bytes("wat-hostile-big-memory");
    let error = host.load("big", &bytes).expect_err("refused");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "initial memory is 300 pages (18.75 MiB) with about 18.75 MiB of stack; the limit is 256 pages (16.00 MiB)"
        ),
        "{message}"
    );
    assert!(message.contains("-Wl,-z,stack-size="), "{message}");
    assert_eq!(
        host.inspect(&bytes).refused.as_deref(),
        Some(message.as_str())
    );
}

#[test]
fn a_start_function_that_never_finishes_is_refused_by_upload_and_check_alike() {
    let host = host();
    let bytes = plugin_bytes("wat-hostile-start-loop");
    let error = host.load("spin", &bytes).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "its start function failed: ran out of fuel (instruction budget)"
    );
    let report = host.inspect(&bytes);
    assert_eq!(report.refused.as_deref(), Some(error.to_string().as_str()));
    assert!(report.layout.has_start_function);
}

#[test]
fn a_module_declaring_a_newer_minor_version_is_refused() {
    let host = host();
    let error = host
        .load("future", &plugin_bytes("wat-future-abi"))
        .expect_err("refused");
    assert!(matches!(error, PluginError::AbiVersion(_)));
    assert_eq!(
        error.to_string(),
        "was built for plugin ABI 1.2 (`touchstone_abi_version` returned 102, which is major * 100 + minor); \
         this server runs modules built for 1.0 to 1.1"
    );
}

#[test]
fn check_reports_the_declared_version_and_the_c_plugins_small_stack() {
    let host = host();
    let report = host.inspect(&plugin_bytes("c-checkout-eligibility"));
    assert_eq!(report.refused, None);
    assert_eq!(report.abi_version.as_deref(), Some("1.1"));
    assert_eq!(report.layout.stack_bytes, Some(16384));
    assert_eq!(
        host.inspect(&plugin_bytes("wat-all-eligible"))
            .abi_version
            .as_deref(),
        Some("1.0")
    );
}
