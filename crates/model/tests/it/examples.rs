//! Every example definition in config/experiments parses and validates, and the two documented
//! examples say what the README and the issue promise.

use std::path::PathBuf;
use touchstone_model::{Direction, Experiment, ExperimentSpec, MetricKind, MetricRole, Status};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/experiments")
}

fn load(path: &std::path::Path) -> Experiment {
    let text = std::fs::read_to_string(path).expect("example is readable");
    let spec: ExperimentSpec = toml::from_str(&text)
        .unwrap_or_else(|error| panic!("{} does not parse: {error}", path.display()));
    Experiment::new(spec).unwrap_or_else(|errors| panic!("{} is invalid: {errors}", path.display()))
}

fn load_named(name: &str) -> Experiment {
    load(&examples_dir().join(name))
}

#[test]
fn every_example_definition_parses_and_validates_with_a_unique_key() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("config/experiments exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "examples missing: {paths:?}");
    let mut keys: Vec<String> = paths
        .iter()
        .map(|path| load(path).key().to_owned())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), paths.len(), "two examples share a key");
}

#[test]
fn the_pdp_gallery_example_runs_a_four_stage_journey_at_the_gallery() {
    let experiment = load_named("pdp-gallery.toml");
    assert_eq!(experiment.touchpoint(), "pdp.gallery");
    assert_eq!(experiment.status(), Status::Running);
    assert_eq!(
        experiment.journey(),
        ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    );
    assert_eq!(experiment.spec().value_event.as_deref(), Some("purchase"));
    assert!(experiment.variants().len() >= 2);
    assert!(
        experiment
            .variants()
            .iter()
            .all(|variant| variant.payload.is_object())
    );
}

#[test]
fn the_free_shipping_example_targets_dach_nl_carts_and_guards_support_load() {
    let experiment = load_named("checkout-free-shipping.toml");
    assert_eq!(experiment.touchpoint(), "checkout.shipping");
    assert_eq!(
        experiment.journey(),
        ["begin_checkout", "add_payment_info", "purchase"]
    );
    let thresholds: Vec<_> = experiment
        .variants()
        .iter()
        .map(|variant| variant.payload["free_shipping_threshold"].as_f64())
        .collect();
    assert_eq!(thresholds, [Some(50.0), Some(35.0)]);
    assert_eq!(experiment.control().key, "threshold_50");

    let attributes = |value: serde_json::Value| value.as_object().cloned().expect("object");
    assert!(experiment.targets(&attributes(
        serde_json::json!({"country": "AT", "cart_value": 10})
    )));
    assert!(!experiment.targets(&attributes(
        serde_json::json!({"country": "FR", "cart_value": 80})
    )));
    assert!(!experiment.targets(&attributes(
        serde_json::json!({"country": "DE", "cart_value": 9.5})
    )));
    assert!(!experiment.targets(&attributes(serde_json::json!({"country": "DE"}))));

    let metric = |key: &str| {
        experiment
            .metrics()
            .iter()
            .find(|metric| metric.key == key)
            .unwrap_or_else(|| panic!("metric {key} missing"))
            .clone()
    };
    let repeat = metric("repeat_purchase");
    assert_eq!(
        (repeat.kind, repeat.min_count, repeat.window_end_hours),
        (MetricKind::Conversion, 2, 720.0)
    );
    let revenue = metric("revenue_7d");
    assert_eq!(
        (revenue.kind, revenue.window_end_hours),
        (MetricKind::Sum, 168.0)
    );
    let tickets = metric("support_tickets");
    assert_eq!(
        (tickets.kind, tickets.direction, tickets.role),
        (
            MetricKind::Count,
            Direction::Decrease,
            MetricRole::Guardrail
        )
    );
    assert_eq!(metric("nps").kind, MetricKind::Nps);
    let effort = metric("effort_score");
    assert_eq!(
        (effort.kind, effort.direction),
        (MetricKind::Mean, Direction::Decrease)
    );
}

#[test]
fn the_one_click_example_shows_every_metric_kind_a_shop_team_tracks() {
    let experiment = load_named("checkout-one-click.toml");
    assert_eq!(experiment.status(), Status::Draft);
    let kinds: Vec<MetricKind> = experiment.metrics().iter().map(|m| m.kind).collect();
    for kind in [
        MetricKind::Conversion,
        MetricKind::Sum,
        MetricKind::Count,
        MetricKind::Nps,
        MetricKind::Mean,
        MetricKind::Duration,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing");
    }
    let retention = experiment
        .metrics()
        .iter()
        .find(|m| m.key == "returned_week_2")
        .expect("retention metric");
    assert_eq!(
        (retention.window_start_hours, retention.window_end_hours),
        (168.0, 336.0)
    );
    let decreasing: Vec<&str> = experiment
        .metrics()
        .iter()
        .filter(|m| m.direction == Direction::Decrease)
        .map(|m| m.key.as_str())
        .collect();
    // time_to_conversion is the built-in duration metric of the last stage: sooner is better.
    assert_eq!(
        decreasing,
        [
            "refunds_90d",
            "effort_score",
            "support_tickets",
            "time_to_conversion"
        ]
    );
    assert_eq!(experiment.spec().segments, ["device", "customer_type"]);
}
