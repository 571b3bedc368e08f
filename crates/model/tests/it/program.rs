//! Running many experiments at once. Layers: membership and the variant inside a layer,
//! replayed against GrowthBook's own JS SDK (`tests/vectors/growthbook_layers.json`, written
//! by `tests/growthbook/make-layer-vectors.js`), and the exclusivity they exist for; the
//! segment attributes of interactions; shipping a winner.

use super::{base_json, experiment, spec_from};
use serde::Deserialize;
use serde_json::json;
use touchstone_model::{Experiment, LayerSpec};

const VECTORS: &str = include_str!("../vectors/growthbook_layers.json");

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<LayerCase>,
}

#[derive(Deserialize)]
struct LayerCase {
    key: String,
    weights: Vec<f64>,
    coverage: f64,
    namespace: (String, f64, f64),
    id: String,
    in_layer: bool,
    variation: Option<usize>,
}

fn layered(key: &str, weights: &[f64], traffic: f64, layer: (&str, f64, f64)) -> Experiment {
    let variants: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(index, weight)| json!({"key": format!("v{index}"), "weight": weight}))
        .collect();
    let mut value = base_json();
    value["key"] = json!(key);
    value["variants"] = json!(variants);
    value["control"] = json!("v0");
    value["traffic"] = json!(traffic);
    value["layer"] = json!({"name": layer.0, "range": [layer.1, layer.2]});
    experiment(spec_from(value))
}

#[test]
fn membership_and_variant_agree_with_growthbooks_sdk_in_every_case() {
    let vectors: Vectors = serde_json::from_str(VECTORS).expect("growthbook_layers.json parses");
    assert_eq!(vectors.cases.len(), 200, "the file lost cases");
    assert!(vectors.cases.iter().any(|case| case.in_layer));
    assert!(vectors.cases.iter().any(|case| !case.in_layer));
    for case in &vectors.cases {
        let (name, start, end) = &case.namespace;
        let layer = LayerSpec {
            name: name.clone(),
            range: [*start, *end],
        };
        assert_eq!(
            layer.contains(&case.id),
            case.in_layer,
            "{} in {name} [{start}, {end})",
            case.id
        );
        let experiment = layered(
            &case.key,
            &case.weights,
            case.coverage,
            (name, *start, *end),
        );
        assert_eq!(
            experiment.assign(&case.id),
            case.variation,
            "{} in {}",
            case.id,
            case.key
        );
    }
}

#[test]
fn experiments_splitting_a_layer_never_share_a_unit() {
    let left = layered("left", &[0.5, 0.5], 1.0, ("checkout", 0.0, 0.5));
    let right = layered("right", &[0.5, 0.5], 1.0, ("checkout", 0.5, 1.0));
    let (mut in_left, mut in_right) = (0, 0);
    for index in 0..20_000 {
        let id = format!("unit-{index}");
        let (a, b) = (left.assign(&id), right.assign(&id));
        assert!(a.is_none() || b.is_none(), "{id} is in both");
        // The ranges cover the layer, and both take all their traffic: everyone is in one.
        assert!(a.is_some() || b.is_some(), "{id} is in neither");
        in_left += usize::from(a.is_some());
        in_right += usize::from(b.is_some());
    }
    // About half each: a fixed set of ids, so a fixed count; a broken hash would skew it.
    assert!((9_500..10_500).contains(&in_left), "{in_left}");
    assert_eq!(in_left + in_right, 20_000);
}

#[test]
fn another_layer_is_an_independent_hash() {
    let checkout = layered("c", &[0.5, 0.5], 1.0, ("checkout", 0.0, 0.5));
    let pdp = layered("p", &[0.5, 0.5], 1.0, ("pdp", 0.0, 0.5));
    let both = (0..20_000)
        .map(|index| format!("unit-{index}"))
        .filter(|id| checkout.assign(id).is_some() && pdp.assign(id).is_some())
        .count();
    // Independent halves share about a quarter of the units.
    assert!((4_700..5_300).contains(&both), "{both}");
}

#[test]
fn the_layer_is_kept_with_the_definition() {
    let experiment = layered("kept", &[0.5, 0.5], 1.0, ("checkout", 0.25, 0.75));
    let layer = experiment.layer().expect("a layer");
    assert_eq!(
        (layer.name.as_str(), layer.range),
        ("checkout", [0.25, 0.75])
    );
    let wire = serde_json::to_value(experiment.spec()).expect("serializes");
    assert_eq!(
        wire["layer"],
        json!({"name": "checkout", "range": [0.25, 0.75]})
    );
    assert!(serde_json::to_value(super::base_spec()).expect("serializes")["layer"].is_null());
}

#[test]
fn each_interaction_is_a_segment_attribute_after_the_declared_ones() {
    let mut value = base_json();
    value["segments"] = json!(["device"]);
    value["interacts_with"] = json!(["pdp-gallery", "banner"]);
    let experiment = experiment(spec_from(value));
    let attributes: Vec<&str> = experiment.segment_attributes().collect();
    assert_eq!(
        attributes,
        ["device", "plugin_version", "exp:pdp-gallery", "exp:banner"]
    );
    let interactions: Vec<(&str, &str)> = experiment.interactions().collect();
    assert_eq!(
        interactions,
        [("pdp-gallery", "exp:pdp-gallery"), ("banner", "exp:banner")]
    );
}

#[test]
fn shipping_names_the_winner_and_another_status_forgets_it() {
    let running = super::base_experiment().with_status(touchstone_model::Status::Running);
    let at = touchstone_model::Timestamp::from_millis(1_700_000_000_000);
    let shipped = running.shipped_with(1, at).expect("variant 1 exists");
    assert_eq!(shipped.status(), touchstone_model::Status::Shipped);
    assert_eq!(shipped.shipped_variant(), Some(1));
    assert!(!shipped.is_running());
    assert_eq!(shipped.spec().shipped.as_ref().map(|s| s.at), Some(at));
    // A saved shipped definition is valid as it stands.
    assert_eq!(
        touchstone_model::Experiment::new(shipped.spec().clone()).as_ref(),
        Ok(&shipped)
    );
    assert!(running.shipped_with(2, at).is_none());
    let stopped = shipped.with_status(touchstone_model::Status::Stopped);
    assert_eq!(
        (stopped.shipped_variant(), &stopped.spec().shipped),
        (None, &None)
    );
}

#[test]
fn guardrail_action_defaults_to_stop_and_reads_each_named_action() {
    use touchstone_model::{ExperimentSpec, GuardrailAction};
    assert_eq!(
        experiment(spec_from(base_json())).guardrail_action(),
        GuardrailAction::Stop
    );
    for (name, action) in [
        ("alert", GuardrailAction::Alert),
        ("stop", GuardrailAction::Stop),
        ("rollback", GuardrailAction::Rollback),
    ] {
        let mut value = base_json();
        value["guardrail_action"] = json!(name);
        assert_eq!(experiment(spec_from(value)).guardrail_action(), action);
    }
    let mut value = base_json();
    value["guardrail_action"] = json!("pause");
    let refused = serde_json::from_value::<ExperimentSpec>(value).expect_err("unknown action");
    assert!(refused.to_string().contains("alert"), "{refused}");
}

#[test]
fn a_marked_journey_stage_is_a_guardrail_and_the_others_are_not() {
    let mut value = base_json();
    value["guardrail_stages"] = json!(["purchase"]);
    let experiment = experiment(spec_from(value));
    assert!(experiment.is_guardrail_stage("purchase"));
    assert!(!experiment.is_guardrail_stage("begin_checkout"));
    assert!(!super::base_experiment().is_guardrail_stage("purchase"));
    let wire = serde_json::to_value(experiment.spec()).expect("serializes");
    assert_eq!(wire["guardrail_stages"], json!(["purchase"]));
    assert!(
        serde_json::to_value(super::base_spec()).expect("serializes")["guardrail_stages"].is_null()
    );
}
