//! The SDK's views against serde_json, the independent reference: every input the host can
//! send (and the malformed ones it cannot) is decoded both ways, into the owned contexts with
//! serde_json and into the views with the SDK's reader, and the two must agree field by field,
//! getter by getter — or both refuse it.

use serde::Deserialize;
use serde_json::{Value, json};
use touchstone_plugin_sdk::json::parse;
use touchstone_plugin_sdk::{
    Assignment, Attributes, ContextMap, EligibleContext, EligibleView, Json, PayloadContext,
    PayloadView,
};

/// Every getter of `view` answers what the same getter on serde_json's `value` answers.
fn assert_same_value(view: Json<'_>, value: &Value, what: &str) {
    assert_eq!(
        view.to_value(),
        *value,
        "{what}: to_value of {}",
        view.raw()
    );
    assert_eq!(
        view.as_u64(),
        value.as_u64(),
        "{what}: as_u64 of {}",
        view.raw()
    );
    assert_eq!(
        view.as_i64(),
        value.as_i64(),
        "{what}: as_i64 of {}",
        view.raw()
    );
    assert_eq!(
        view.as_f64().map(f64::to_bits),
        value.as_f64().map(f64::to_bits),
        "{what}: as_f64 of {}",
        view.raw()
    );
    assert_eq!(view.as_bool(), value.as_bool(), "{what}: as_bool");
    assert_eq!(view.as_str().as_deref(), value.as_str(), "{what}: as_str");
    assert_eq!(view.is_null(), value.is_null(), "{what}: is_null");
    assert_eq!(view.is_object(), value.is_object(), "{what}: is_object");
    assert_eq!(view.is_array(), value.is_array(), "{what}: is_array");
    assert_eq!(view.is_number(), value.is_number(), "{what}: is_number");
    if let (Some(object), Some(map)) = (view.as_object(), value.as_object()) {
        assert_eq!(object.to_map(), *map, "{what}: to_map");
        for (key, inner) in map {
            let found = object
                .get(key)
                .unwrap_or_else(|| panic!("{what}: key {key:?}"));
            assert_same_value(found, inner, &format!("{what}.{key}"));
        }
    }
    if let (Some(elements), Some(items)) = (view.as_array(), value.as_array()) {
        assert_eq!(elements.len(), items.len(), "{what}: array length");
        for (index, (element, item)) in elements.iter().zip(items).enumerate() {
            assert_same_value(*element, item, &format!("{what}[{index}]"));
        }
    }
}

/// Both decodings of `input`, or `None` when both refuse it; a panic when only one does.
fn both_or_neither<O: std::fmt::Debug, V: std::fmt::Debug, E1, E2>(
    input: &str,
    owned: Result<O, E1>,
    view: Result<V, E2>,
) -> Option<(O, V)>
where
    E1: std::fmt::Debug,
    E2: std::fmt::Debug,
{
    match (owned, view) {
        (Ok(owned), Ok(view)) => Some((owned, view)),
        (Err(_), Err(_)) => None,
        (owned, view) => panic!("they disagree on {input}: serde {owned:?}, view {view:?}"),
    }
}

/// The view's attributes hold what serde_json's map holds, as a whole and key by key.
fn assert_attributes_agree(view: &Attributes<'_>, owned: &ContextMap, input: &str) {
    assert_eq!(view.to_map(), *owned, "attributes of {input}");
    for (key, value) in owned {
        let found = view.get(key).unwrap_or_else(|| panic!("{key:?}"));
        assert_same_value(found, value, key);
    }
    assert!(view.get("not an attribute").is_none());
}

/// Decodes `input` both ways as `eligible`'s context and checks they agree.
fn assert_eligible_agrees(input: &str) {
    let owned = serde_json::from_str::<EligibleContext>(input);
    let view = EligibleView::<'_, Value>::decode(input);
    let Some((owned, view)) = both_or_neither(input, owned, view) else {
        return;
    };
    assert_eq!(view.unit_id, owned.unit_id);
    assert_eq!(view.touchpoint, owned.touchpoint);
    assert_eq!(view.experiments, owned.experiments);
    assert_eq!(view.config, owned.config);
    assert_attributes_agree(&view.attributes, &owned.attributes, input);
    assert_eq!(view.all(true), owned.all(true));
}

/// Decodes `input` both ways as `payload`'s context and checks they agree.
fn assert_payload_agrees(input: &str) {
    let owned = serde_json::from_str::<PayloadContext>(input);
    let view = PayloadView::<'_, Value>::decode(input);
    let Some((owned, view)) = both_or_neither(input, owned, view) else {
        return;
    };
    assert_eq!(view.unit_id, owned.unit_id);
    assert_eq!(view.touchpoint, owned.touchpoint);
    assert_eq!(view.config, owned.config);
    assert_attributes_agree(&view.attributes, &owned.attributes, input);
    assert_eq!(view.assignments.len(), owned.assignments.len());
    for (view, owned) in view.assignments.iter().zip(&owned.assignments) {
        assert_eq!(view.experiment, owned.experiment);
        assert_eq!(view.variant, owned.variant);
        assert_same_value(view.payload, &owned.payload, "payload");
    }
}

fn attributes(value: Value) -> ContextMap {
    value.as_object().cloned().unwrap_or_default()
}

/// The attribute and config shapes the host can send: it encodes from serde_json values, so
/// `1e3` arrives as `1000.0`, non-ASCII arrives raw and only `"`, `\` and control characters
/// are escaped.
fn shapes() -> Vec<(ContextMap, Value)> {
    let tricky = json!({
        "quote \" and backslash \\": "tab\there, newline\nthere, bell \u{7}",
        "münchen": "Ünïcödé ✓ 😀",
        "": "",
        "empty_object": {},
        "empty_array": [],
        "nested": {"a": [1, -2, 3.5, {"b": [null, true, false, "x"]}], "c": {"d": {"e": "f"}}},
        "thousand": 1e3,
        "zero": 0,
        "minus_zero": -0.0,
        "negative": -42,
        "i64_min": i64::MIN,
        "u64_max": u64::MAX,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "tenth": 0.1,
        "cart_value": 42.5,
        "flag": true,
        "nothing": null,
    });
    vec![
        (ContextMap::new(), Value::Null),
        (
            attributes(json!({"device": "mobile", "country": "DE", "photo_count": 10})),
            json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
        ),
        (attributes(tricky.clone()), tricky.clone()),
        (attributes(json!({"a": 1})), json!(["DE", "FR", 1.5, null])),
        (
            attributes(json!({"a": "b"})),
            json!("a string config \"quoted\""),
        ),
        (attributes(json!({"a": 1})), json!(7)),
    ]
}

#[test]
fn views_agree_with_serde_on_every_shape_the_host_encodes() {
    for (attributes, config) in shapes() {
        let eligible = EligibleContext {
            unit_id: "visitor-ü-\"7\"".into(),
            touchpoint: "pdp.gallery".into(),
            experiments: vec!["exp-a".into(), "exp \"b\"".into(), "é".into()],
            attributes: attributes.clone(),
            config: config.clone(),
        };
        let input = serde_json::to_string(&eligible).expect("encodes");
        assert_eligible_agrees(&input);
        let view: EligibleView<'_, Value> = EligibleView::decode(&input).expect("decodes");
        assert_eq!(view.experiments, eligible.experiments);
        let payload = PayloadContext {
            unit_id: eligible.unit_id.clone(),
            touchpoint: eligible.touchpoint.clone(),
            assignments: vec![
                Assignment {
                    experiment: "exp-a".into(),
                    variant: "treatment".into(),
                    payload: json!({"layout": "grid", "zoom": true, "n": 1e3}),
                },
                Assignment {
                    experiment: "exp \"b\"".into(),
                    variant: "contrôle".into(),
                    payload: Value::Null,
                },
                Assignment {
                    experiment: "c".into(),
                    variant: "v".into(),
                    payload: config.clone(),
                },
            ],
            attributes,
            config,
        };
        assert_payload_agrees(&serde_json::to_string(&payload).expect("encodes"));
        // Pretty-printed JSON (whitespace everywhere) is the same input.
        assert_payload_agrees(&serde_json::to_string_pretty(&payload).expect("encodes"));
    }
}

#[test]
fn escapes_the_host_never_writes_decode_as_serde_decodes_them() {
    for escaped in [
        r#""\u00e9t\u00E9""#,
        r#""\ud83d\ude00 smile""#,
        r#""\"\\\/\b\f\n\r\t""#,
        r#""\u0000 nul""#,
        r#""plain""#,
    ] {
        let input = format!(
            r#"{{"unit_id":{escaped},"touchpoint":"t","experiments":[{escaped}],"attributes":{{{escaped}:{escaped}}},"config":{{{escaped}:[{escaped}]}}}}"#
        );
        assert_eligible_agrees(&input);
        let view: EligibleView<'_, Value> = EligibleView::decode(&input).expect("decodes");
        let text: String = serde_json::from_str(escaped).expect("a string");
        assert_eq!(view.unit_id, text);
        let raw = escaped.trim_matches('"');
        let found = view.attributes.get(&text).expect("the key, decoded");
        assert_eq!(found.as_str().as_deref(), Some(text.as_str()));
        assert_eq!(found.as_json_str().map(|s| s.raw()), Some(raw));
    }
}

#[test]
fn numbers_read_as_serde_json_reads_them() {
    for number in [
        "0",
        "-0",
        "-0.0",
        "1e3",
        "1E+3",
        "1000.0",
        "12345678901234567890",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9223372036854775808",
        "0.1",
        "2.5e-3",
        "123456789012345678901234567890",
        "1.7976931348623157e308",
        "4.9e-324",
    ] {
        let value: Value = serde_json::from_str(number).expect("a number");
        assert_same_value(parse(number).expect("parses"), &value, number);
    }
}

#[test]
fn the_last_of_a_repeated_attribute_counts_as_in_serde_json() {
    let input = r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":1,"a":2},"config":null}"#;
    assert_eligible_agrees(input);
    let view: EligibleView<'_, Value> = EligibleView::decode(input).expect("decodes");
    assert_eq!(view.attributes.get("a").and_then(|v| v.as_u64()), Some(2));
}

#[test]
fn malformed_inputs_are_refused_by_both_with_an_error() {
    let good = r#"{"unit_id":"u","touchpoint":"t","experiments":["e"],"attributes":{"a":[1,{"b":"c"}]},"config":{"k":1}}"#;
    assert!(EligibleView::<Value>::decode(good).is_ok());
    let mut malformed: Vec<String> = (1..good.len()).map(|end| good[..end].to_string()).collect();
    malformed.extend(
        [
            "",
            "null",
            "[]",
            r#"{"touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"u","experiments":[]}"#,
            r#"{"unit_id":"u","touchpoint":"t"}"#,
            r#"{"unit_id":7,"touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[1]}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":[]}"#,
            r#"{"unit_id":"u","unit_id":"v","touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[]} x"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[,]}"#,
            r#"{"unit_id":"u" "touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"u\x","touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"u\u12","touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"\ud83d","touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"\ud83d\u0041","touchpoint":"t","experiments":[]}"#,
            r#"{"unit_id":"\ude00","touchpoint":"t","experiments":[]}"#,
            "{\"unit_id\":\"a\nb\",\"touchpoint\":\"t\",\"experiments\":[]}",
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":01}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":1.}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":-}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":.5}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":1e}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":tru}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":nul}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{"a":+1}}"#,
            r#"{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{1:2}}"#,
        ]
        .map(String::from),
    );
    for input in &malformed {
        assert!(
            EligibleView::<Value>::decode(input).is_err(),
            "the view accepted {input}"
        );
        assert!(
            serde_json::from_str::<EligibleContext>(input).is_err(),
            "serde accepted {input}"
        );
        assert!(PayloadView::<Value>::decode(input).is_err(), "{input}");
    }
}

#[test]
fn nesting_is_limited_where_serde_json_limits_it() {
    // The context's own object is one level, `attributes` another.
    for depth in [1, 30, 124, 125, 126, 127, 200] {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let input = format!(
            r#"{{"unit_id":"u","touchpoint":"t","experiments":[],"attributes":{{"deep":{nested}}},"config":null}}"#
        );
        let serde_ok = serde_json::from_str::<EligibleContext>(&input).is_ok();
        let view_ok = EligibleView::<Value>::decode(&input).is_ok();
        assert_eq!(view_ok, serde_ok, "depth {depth}");
        assert_eq!(view_ok, depth <= 125, "depth {depth}");
        assert_eligible_agrees(&input);
    }
}

#[test]
fn a_typed_config_deserializes_from_the_view_as_from_serde_json() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Config<'a> {
        min_photos: u64,
        #[serde(borrow)]
        label: std::borrow::Cow<'a, str>,
        by_device: std::collections::BTreeMap<String, u64>,
        #[serde(default)]
        missing: Option<u32>,
    }
    let input = r#"{"unit_id":"u","touchpoint":"t","experiments":[],"config":{"by_device":{"mobile":4},"label":"caf\u00e9","min_photos":3,"extra":[1,2]}}"#;
    let view: EligibleView<'_, Config<'_>> = EligibleView::decode(input).expect("decodes");
    let owned: EligibleContext<Config<'_>> = serde_json::from_str(input).expect("decodes");
    assert_eq!(view.config, owned.config);
    assert_eq!(view.config.label, "café");
    // A config that does not fit the type is the SDK's error, not a trap.
    let wrong = r#"{"unit_id":"u","touchpoint":"t","experiments":[],"config":{"label":"x"}}"#;
    let error = EligibleView::<Config<'_>>::decode(wrong).expect_err("refused");
    assert!(
        error.to_string().contains("missing field `min_photos`"),
        "{error}"
    );
}
