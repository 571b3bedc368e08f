//! Every request starts from a state no earlier request could touch, whatever instance reuse
//! the host does within a request: `wat-remember-1-1` reads a global, a data-segment byte, a
//! byte far past the data and its memory size, then changes all four and grows its memory —
//! the next request must read the module's own values again, in the same pool slot or
//! another, on this thread or another. And the example plugins really serve a request's two
//! hooks from one instance.

use crate::{host, load};
use serde_json::{Value, json};
use touchstone_plugin_host::{
    Assignment, AssignmentRef, EligibleContext, EligibleInput, EncodedConfig, Hook, PayloadContext,
    PayloadInput,
};

/// What a call that starts from the module's own state reads (see the .wat).
const PRISTINE: &str = "0a01";

fn eligible_ctx() -> EligibleContext {
    EligibleContext {
        unit_id: "u-fresh".into(),
        touchpoint: "pdp.gallery".into(),
        experiments: vec!["a".into()],
        attributes: json!({"device": "mobile", "photo_count": 10})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        config: json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
    }
}

fn payload_ctx() -> PayloadContext {
    let eligible = eligible_ctx();
    PayloadContext {
        unit_id: eligible.unit_id,
        touchpoint: eligible.touchpoint,
        assignments: vec![Assignment {
            experiment: "a".into(),
            variant: "treatment".into(),
            payload: Value::Null,
        }],
        attributes: eligible.attributes,
        config: eligible.config,
    }
}

#[test]
fn no_request_reads_what_an_earlier_request_wrote_into_globals_or_memory() {
    let host = host();
    let plugin = load(&host, "wat-remember-1-1");
    assert_eq!(plugin.abi_minor_version(), 1);
    for request in 0..50 {
        let mut session = plugin.session();
        if request % 2 == 0 {
            session.eligible(&eligible_ctx()).expect("eligible");
            // The same request's instance: what eligible changed is visible, as ABI 1.1 allows.
            let seen = session.payload(&payload_ctx()).expect("payload");
            assert_eq!(seen["a"], json!("1b12"), "request {request}");
        } else {
            let seen = session.payload(&payload_ctx()).expect("payload");
            assert_eq!(seen["a"], json!(PRISTINE), "request {request}");
        }
    }
}

#[test]
fn no_request_reads_another_threads_earlier_request_either() {
    let host = host();
    let plugin = load(&host, "wat-remember-1-1");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    let mut session = plugin.session();
                    let seen = session.payload(&payload_ctx()).expect("payload");
                    assert_eq!(seen["a"], json!(PRISTINE));
                    // Leave a touched instance behind for whoever comes next.
                    session.payload(&payload_ctx()).expect("payload");
                }
            });
        }
    });
}

#[test]
fn the_example_plugins_serve_a_requests_two_hooks_from_one_instance() {
    let host = host();
    let attributes = json!({"country": "DE", "currency": "EUR", "cart_value": 32.5,
        "cart_total": 32.5, "device": "mobile", "photo_count": 5});
    let attributes = attributes.as_object().cloned().unwrap_or_default();
    let experiments = vec!["a".to_owned()];
    let static_payload = Value::Null;
    for (name, config) in [
        (
            "pdp-ugc-gallery",
            json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
        ),
        (
            "checkout-free-shipping",
            json!({"countries": ["DE", "FR"], "thresholds": {"EUR": 50.0}}),
        ),
        (
            "c-checkout-eligibility",
            json!({"countries": ["DE", "FR"], "min_cart": 20}),
        ),
    ] {
        let plugin = load(&host, name);
        assert_eq!(plugin.abi_minor_version(), 1, "{name} declares ABI 1.1");
        let config = EncodedConfig::new(&config);
        let before = plugin.instances_created();
        let mut session = plugin.session();
        // The server's path: inputs borrowed from the request, the config encoded once.
        let eligible = EligibleInput {
            unit_id: "u-examples",
            touchpoint: "checkout.shipping",
            experiments: &experiments,
            attributes: &attributes,
            config: &config,
        };
        session.eligible_input(&eligible).expect("eligible");
        if plugin.has_hook(Hook::Payload) {
            let payload = PayloadInput {
                unit_id: "u-examples",
                touchpoint: "checkout.shipping",
                assignments: vec![AssignmentRef {
                    experiment: "a",
                    variant: "treatment",
                    payload: &static_payload,
                }],
                attributes: &attributes,
                config: &config,
            };
            session.payload_input(&payload).expect("payload");
        }
        drop(session);
        assert_eq!(plugin.instances_created() - before, 1, "{name}");
    }
}
