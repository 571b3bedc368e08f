//! The example plugins, each hook with realistic contexts.

use crate::{host, load};
use serde_json::{Value, json};
use touchstone_plugin_host::{
    Assignment, EligibleContext, Event, EventContext, EventDecision, PayloadContext,
};

fn attributes(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

fn shipping_config() -> Value {
    json!({"countries": ["DE", "FR"], "thresholds": {"EUR": 50.0, "USD": 60.0}})
}

#[test]
fn free_shipping_is_eligible_only_below_the_threshold_in_a_shipping_country() {
    let host = host();
    let plugin = load(&host, "checkout-free-shipping");
    let ctx = |country: &str, cart: f64| EligibleContext {
        unit_id: "u-1".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["free-shipping-banner".into(), "free-shipping-bar".into()],
        attributes: attributes(json!({"country": country, "currency": "EUR", "cart_value": cart})),
        config: shipping_config(),
    };
    let eligible = plugin.eligible(&ctx("DE", 32.5)).expect("eligible runs");
    assert_eq!(eligible.get("free-shipping-banner"), Some(&true));
    assert_eq!(eligible.get("free-shipping-bar"), Some(&true));
    let over = plugin.eligible(&ctx("DE", 75.0)).expect("eligible runs");
    assert_eq!(over.get("free-shipping-banner"), Some(&false));
    let elsewhere = plugin.eligible(&ctx("US", 32.5)).expect("eligible runs");
    assert_eq!(elsewhere.get("free-shipping-bar"), Some(&false));
}

#[test]
fn free_shipping_payload_names_the_missing_amount_in_the_shoppers_currency() {
    let host = host();
    let plugin = load(&host, "checkout-free-shipping");
    let ctx = PayloadContext {
        unit_id: "u-1".into(),
        touchpoint: "checkout.shipping".into(),
        assignments: vec![Assignment {
            experiment: "free-shipping-banner".into(),
            variant: "treatment".into(),
            payload: json!({"style": "banner"}),
        }],
        attributes: attributes(json!({"country": "FR", "currency": "EUR", "cart_value": 37.5})),
        config: shipping_config(),
    };
    let payloads = plugin.payload(&ctx).expect("payload runs");
    assert_eq!(
        payloads.get("free-shipping-banner"),
        Some(&json!({
            "style": "banner",
            "missing_amount": 12.5,
            "currency": "EUR",
            "message": "Add 12.50 € more for free shipping"
        }))
    );
}

fn gallery_config() -> Value {
    json!({"min_photos": 3, "photos_by_device": {"mobile": 4, "desktop": 8}, "default_photos": 2})
}

#[test]
fn the_gallery_takes_only_products_with_enough_photos() {
    let host = host();
    let plugin = load(&host, "pdp-ugc-gallery");
    let ctx = |photos: u64| EligibleContext {
        unit_id: "u-2".into(),
        touchpoint: "pdp.gallery".into(),
        experiments: vec!["ugc-gallery".into()],
        attributes: attributes(json!({"device": "mobile", "photo_count": photos})),
        config: gallery_config(),
    };
    assert_eq!(
        plugin.eligible(&ctx(3)).expect("runs").get("ugc-gallery"),
        Some(&true)
    );
    assert_eq!(
        plugin.eligible(&ctx(2)).expect("runs").get("ugc-gallery"),
        Some(&false)
    );
}

#[test]
fn the_gallery_shows_as_many_photos_as_the_device_allows_and_the_product_has() {
    let host = host();
    let plugin = load(&host, "pdp-ugc-gallery");
    let ctx = |device: &str, photos: u64| PayloadContext {
        unit_id: "u-2".into(),
        touchpoint: "pdp.gallery".into(),
        assignments: vec![Assignment {
            experiment: "ugc-gallery".into(),
            variant: "grid".into(),
            payload: json!({"layout": "grid"}),
        }],
        attributes: attributes(json!({"device": device, "photo_count": photos})),
        config: gallery_config(),
    };
    let photos = |device, count| {
        plugin.payload(&ctx(device, count)).expect("runs")["ugc-gallery"]["photos"].clone()
    };
    assert_eq!(photos("mobile", 10), json!(4));
    assert_eq!(photos("desktop", 10), json!(8));
    assert_eq!(photos("desktop", 5), json!(5));
    assert_eq!(photos("watch", 10), json!(2));
}

fn event(id: &str, name: &str, value: Option<f64>, attributes: Value) -> Event {
    Event {
        id: id.into(),
        unit_id: "u-3".into(),
        name: name.into(),
        value,
        timestamp: 1_795_428_000_000,
        attributes: attributes.as_object().cloned().expect("object"),
    }
}

#[test]
fn the_event_guard_rejects_bots_maps_stages_and_converts_revenue_in_one_call() {
    let host = host();
    let plugin = load(&host, "event-guard");
    let ctx = EventContext {
        events: vec![
            event("e1", "pdp_view", None, json!({"user_agent": "Mozilla/5.0"})),
            event(
                "e2",
                "pdp_view",
                None,
                json!({"user_agent": "Googlebot/2.1"}),
            ),
            event("e3", "order", Some(100.0), json!({"currency": "USD"})),
            event("e4", "purchase", Some(20.0), json!({"currency": "EUR"})),
            event("e5", "purchase", Some(20.0), json!({"currency": "JPY"})),
        ],
        config: json!({
            "bot_markers": ["bot", "spider"],
            "stages": {"pdp_view": "view_item", "order": "purchase"},
            "currency": "EUR",
            "rates": {"USD": 0.92}
        }),
    };
    let decisions = plugin.event(&ctx).expect("event runs");
    assert_eq!(
        decisions,
        vec![
            EventDecision::Rewrite {
                event: event(
                    "e1",
                    "view_item",
                    None,
                    json!({"user_agent": "Mozilla/5.0"})
                )
            },
            EventDecision::Reject {
                reason: "bot traffic".into()
            },
            EventDecision::Rewrite {
                event: event("e3", "purchase", Some(92.0), json!({"currency": "EUR"}))
            },
            EventDecision::Accept,
            EventDecision::Reject {
                reason: "no rate for currency JPY".into()
            },
        ]
    );
}

#[test]
fn a_config_the_plugin_cannot_read_is_a_guest_error_not_a_crash() {
    let host = host();
    let plugin = load(&host, "checkout-free-shipping");
    let ctx = EligibleContext {
        unit_id: "u".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["x".into()],
        attributes: Default::default(),
        config: json!({"countries": "DE"}),
    };
    let error = plugin.eligible(&ctx).expect_err("the config does not fit");
    assert_eq!(error.reason(), "guest_error");
    assert!(
        error
            .to_string()
            .contains("does not fit the hook's context"),
        "{error}"
    );
}

#[test]
fn many_calls_in_a_row_each_answer_for_their_own_unit() {
    let host = host();
    let plugin = load(&host, "pdp-ugc-gallery");
    for photos in 0..20u64 {
        let ctx = EligibleContext {
            unit_id: format!("u-{photos}"),
            touchpoint: "pdp.gallery".into(),
            experiments: vec!["ugc-gallery".into()],
            attributes: attributes(json!({"photo_count": photos})),
            config: gallery_config(),
        };
        let answer = plugin.eligible(&ctx).expect("runs");
        assert_eq!(answer["ugc-gallery"], photos >= 3);
    }
}
