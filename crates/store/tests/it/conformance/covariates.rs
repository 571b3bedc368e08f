//! Conformance cases for CUPED's sums (decision 022), run on every backend: x is taken at a
//! unit's first exposure (missing, non-finite and out-of-bound values count as 0 and as
//! missing), Σx and Σx² per variant and slice, and Σxy moved by x·Δy at every event that moves
//! a unit's value — exactly once per event id, inside each metric's window, from zero in a
//! new phase. Every expected sum is worked out by hand beside it.

use crate::fixtures::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use touchstone_model::{
    Aggregates, CovariateSums, Experiment, ExperimentSpec, PhaseChange, Timestamp,
};
use touchstone_store::{EventOutcome, Exposure, Store};

/// Journey add_to_cart → purchase (covariate `orders_90d`), revenue from `purchase`
/// (`revenue_90d`), a 24 h window, sliced by device, and metrics: `buyer` (conversion,
/// `orders_90d`), `spend` (sum, `revenue_90d`), `purchases` (count, `orders_90d`),
/// `returned` (conversion on `visit` 48–72 h after exposure, `orders_90d`), `effort` (mean,
/// no covariate).
fn experiment_with_covariates(name: &str) -> Experiment {
    let spec: ExperimentSpec = serde_json::from_value(json!({
        "key": unique(name),
        "touchpoint": "checkout.shipping",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        "journey": ["add_to_cart", "purchase"],
        "value_event": "purchase",
        "conversion_window_hours": 24.0,
        "status": "running",
        "segments": ["device"],
        "metrics": [
            {"key": "buyer", "kind": "conversion", "event": "purchase",
             "covariate": {"attribute": "orders_90d"}},
            {"key": "spend", "kind": "sum", "event": "purchase",
             "covariate": {"attribute": "revenue_90d"}},
            {"key": "purchases", "kind": "count", "event": "purchase",
             "covariate": {"attribute": "orders_90d"}},
            {"key": "returned", "kind": "conversion", "event": "visit",
             "window_start_hours": 48.0, "window_end_hours": 72.0,
             "covariate": {"attribute": "orders_90d"}},
            {"key": "effort", "kind": "mean", "event": "effort"},
        ],
        "covariates": {
            "purchase": {"attribute": "orders_90d"},
            "revenue_per_unit": {"attribute": "revenue_90d"},
        },
    }))
    .expect("spec parses");
    Experiment::new(spec).expect("spec is valid")
}

async fn expose_unit(
    store: &dyn Store,
    experiment: &Experiment,
    unit: &str,
    variant: usize,
    device: &str,
    covariates: &[(&str, f64)],
) -> bool {
    store
        .record_exposure(
            experiment,
            &Exposure {
                unit_id: unit.into(),
                variant,
                at: Timestamp::from_millis(T0),
                segments: BTreeMap::from([("device".to_owned(), device.to_owned())]),
                plugin_version: None,
                covariates: covariates
                    .iter()
                    .map(|(name, x)| ((*name).to_owned(), *x))
                    .collect(),
            },
        )
        .await
        .expect("exposure recorded")
        .new
}

fn sums(missing: u64, sum: f64, sum_squares: f64, sum_of_products: f64) -> CovariateSums {
    CovariateSums {
        missing,
        sum,
        sum_squares,
        sum_of_products,
    }
}

fn metric_covariate(agg: &Aggregates, variant: usize, key: &str) -> Option<CovariateSums> {
    agg.variants[variant]
        .metrics
        .iter()
        .find(|metric| metric.metric == key)
        .unwrap_or_else(|| panic!("metric {key} missing"))
        .covariate
}

fn stage_covariate(agg: &Aggregates, variant: usize, name: &str) -> Option<CovariateSums> {
    stage(agg, variant, name).covariate
}

/// One unit's exposure: id, variant, device, covariates sent.
type UnitSent = (
    &'static str,
    usize,
    &'static str,
    &'static [(&'static str, f64)],
);

/// Control: u1 (mobile; orders 3, revenue 120.5), u2 (mobile; orders missing, revenue 40).
/// Treatment: u3 (desktop; orders 2e15 — past ±1e15, so missing —, revenue -10.5), u4
/// (desktop; orders NaN — missing —, revenue absent), u5 (mobile; orders exactly 1e15, kept,
/// revenue 0 — kept, not missing). u1's second exposure with orders 100 changes nothing.
async fn five_units(store: &dyn Store, name: &str) -> Arc<Experiment> {
    let exp = Arc::new(experiment_with_covariates(name));
    let exposures: [UnitSent; 5] = [
        (
            "u1",
            0,
            "mobile",
            &[("orders_90d", 3.0), ("revenue_90d", 120.5)],
        ),
        ("u2", 0, "mobile", &[("revenue_90d", 40.0)]),
        (
            "u3",
            1,
            "desktop",
            &[("orders_90d", 2e15), ("revenue_90d", -10.5)],
        ),
        ("u4", 1, "desktop", &[("orders_90d", f64::NAN)]),
        (
            "u5",
            1,
            "mobile",
            &[("orders_90d", 1e15), ("revenue_90d", 0.0)],
        ),
    ];
    for (unit, variant, device, covariates) in exposures {
        assert!(expose_unit(store, &exp, unit, variant, device, covariates).await);
    }
    let again = [("orders_90d", 100.0), ("revenue_90d", 1.0)];
    assert!(!expose_unit(store, &exp, "u1", 0, "desktop", &again).await);
    exp
}

pub async fn covariates_are_taken_once_at_exposure_and_missing_ones_count_as_zero(
    store: &dyn Store,
) {
    let exp = five_units(store, "cuped-exposure").await;
    let agg = aggregates(store, &exp).await;
    // Control orders: u1 3 (u1's later 100 ignored), u2 missing. Revenue: 120.5 + 40 = 160.5,
    // squares 14520.25 + 1600 = 16120.25.
    let control_orders = sums(1, 3.0, 9.0, 0.0);
    let control_revenue = sums(0, 160.5, 16120.25, 0.0);
    assert_eq!(stage_covariate(&agg, 0, "purchase"), Some(control_orders));
    for key in ["buyer", "purchases", "returned"] {
        assert_eq!(
            metric_covariate(&agg, 0, key),
            Some(control_orders),
            "{key}"
        );
    }
    assert_eq!(metric_covariate(&agg, 0, "spend"), Some(control_revenue));
    assert_eq!(
        metric_covariate(&agg, 0, "revenue_per_unit"),
        Some(control_revenue)
    );
    // Treatment orders: u3 (out of bound) and u4 (NaN) missing, u5 1e15. Revenue: u3 -10.5,
    // u4 missing, u5 0 (a number: kept as 0, not missing).
    let treatment_orders = metric_covariate(&agg, 1, "buyer").expect("declared");
    assert_eq!((treatment_orders.missing, treatment_orders.sum), (2, 1e15));
    let relative = (treatment_orders.sum_squares - 1e30).abs() / 1e30;
    assert!(relative < 1e-15, "{treatment_orders:?}");
    assert_eq!(
        metric_covariate(&agg, 1, "spend"),
        Some(sums(1, -10.5, 110.25, 0.0))
    );
    // No covariate declared: none reported.
    assert_eq!(stage_covariate(&agg, 0, "add_to_cart"), None);
    assert_eq!(metric_covariate(&agg, 0, "effort"), None);
    assert_eq!(metric_covariate(&agg, 0, "time_to_conversion"), None);
}

/// u1 (x = 3 orders, 120.5 revenue): cart, purchases of 10 and 5, a visit at +1 h (before the
/// `returned` window) and one at +50 h (inside it). u2 (orders missing: 0; revenue 40): a
/// purchase of 7. u3 (orders missing; revenue -10.5): a purchase of 4.
fn events_of(exp: &Experiment) -> Vec<touchstone_model::OutcomeEvent> {
    let id = |name: &str| format!("{}:{name}", exp.key());
    vec![
        event(&id("cart"), "u1", "add_to_cart", None, T0 + HOUR),
        event(&id("buy1"), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id("buy2"), "u1", "purchase", Some(5.0), T0 + 2 * HOUR),
        event(&id("visit-early"), "u1", "visit", None, T0 + HOUR),
        event(&id("visit"), "u1", "visit", None, T0 + 50 * HOUR),
        event(&id("buy3"), "u2", "purchase", Some(7.0), T0 + HOUR),
        event(&id("buy4"), "u3", "purchase", Some(4.0), T0 + HOUR),
    ]
}

pub async fn sums_of_products_move_by_x_times_each_change_of_a_units_value(store: &dyn Store) {
    let exp = five_units(store, "cuped-products").await;
    let batch = events_of(&exp);
    store
        .record_events(std::slice::from_ref(&exp), &batch)
        .await
        .expect("recorded");
    let agg = aggregates(store, &exp).await;
    // Control, orders (u1: 3, u2: 0): buyer 0→1 once: 3; purchases +1 twice: 3 + 3 = 6;
    // returned 0→1 by the +50 h visit only: 3; stage purchase reached once: 3.
    let orders = |sop| Some(sums(1, 3.0, 9.0, sop));
    assert_eq!(metric_covariate(&agg, 0, "buyer"), orders(3.0));
    assert_eq!(metric_covariate(&agg, 0, "purchases"), orders(6.0));
    assert_eq!(metric_covariate(&agg, 0, "returned"), orders(3.0));
    assert_eq!(stage_covariate(&agg, 0, "purchase"), orders(3.0));
    // Control, revenue: spend and revenue_per_unit 120.5·10 + 120.5·5 + 40·7 = 2087.5.
    let revenue = Some(sums(0, 160.5, 16120.25, 2087.5));
    assert_eq!(metric_covariate(&agg, 0, "spend"), revenue);
    assert_eq!(metric_covariate(&agg, 0, "revenue_per_unit"), revenue);
    // Treatment: u3's orders are missing (0·Δy = 0); its revenue -10.5·4 = -42.
    assert_eq!(
        metric_covariate(&agg, 1, "buyer").map(|c| c.sum_of_products),
        Some(0.0)
    );
    assert_eq!(
        metric_covariate(&agg, 1, "spend"),
        Some(sums(1, -10.5, 110.25, -42.0))
    );
    // The moments themselves are as without a covariate: spend over 2 control units, 15 and 7.
    assert_eq!(metric(&agg, 0, "spend"), moments(2, 22.0, 274.0));

    // A retried batch, and one event retried alone, add nothing.
    let retried = store
        .record_events(std::slice::from_ref(&exp), &batch)
        .await
        .expect("recorded");
    assert_eq!(retried.duplicates(), batch.len());
    let alone = store
        .record_events(std::slice::from_ref(&exp), &batch[2..3])
        .await
        .expect("recorded");
    assert_eq!(alone.outcomes, vec![EventOutcome::Duplicate]);
    assert_eq!(aggregates(store, &exp).await, agg);
}

pub async fn each_slice_keeps_the_covariate_sums_of_its_own_units(store: &dyn Store) {
    let exp = five_units(store, "cuped-slices").await;
    store
        .record_events(std::slice::from_ref(&exp), &events_of(&exp))
        .await
        .expect("recorded");
    let slices = store
        .load_slices(&exp, "device")
        .await
        .expect("slices load");
    let slice = |value: &str| {
        slices
            .iter()
            .find(|slice| slice.value == value)
            .unwrap_or_else(|| panic!("slice {value} missing"))
            .aggregates
            .clone()
    };
    // Mobile control is u1 and u2 — all of control (u1's later "desktop" is ignored).
    let whole = aggregates(store, &exp).await;
    let mobile = slice("mobile");
    for key in [
        "buyer",
        "spend",
        "purchases",
        "returned",
        "revenue_per_unit",
    ] {
        assert_eq!(
            metric_covariate(&mobile, 0, key),
            metric_covariate(&whole, 0, key),
            "{key}"
        );
    }
    // Mobile treatment is u5 alone: orders 1e15, revenue 0, no events.
    let u5 = metric_covariate(&mobile, 1, "spend").expect("declared");
    assert_eq!(u5, sums(0, 0.0, 0.0, 0.0));
    assert_eq!(
        metric_covariate(&mobile, 1, "buyer").map(|c| (c.missing, c.sum)),
        Some((0, 1e15))
    );
    // Desktop treatment is u3 and u4: orders both missing; revenue -10.5 and missing, Σxy -42.
    let desktop = slice("desktop");
    assert_eq!(
        metric_covariate(&desktop, 1, "buyer"),
        Some(sums(2, 0.0, 0.0, 0.0))
    );
    assert_eq!(
        metric_covariate(&desktop, 1, "revenue_per_unit"),
        Some(sums(1, -10.5, 110.25, -42.0))
    );
    assert_eq!(
        metric_covariate(&desktop, 0, "spend"),
        Some(sums(0, 0.0, 0.0, 0.0))
    );
}

pub async fn a_new_phase_keeps_covariate_sums_from_zero(store: &dyn Store) {
    let first = five_units(store, "cuped-phase").await;
    store
        .record_events(std::slice::from_ref(&first), &events_of(&first))
        .await
        .expect("recorded");
    let before = aggregates(store, &first).await;
    let change = PhaseChange {
        weights: Some(vec![0.8, 0.2]),
        ..PhaseChange::default()
    };
    let second = Arc::new(
        first
            .next_phase(change, Timestamp::from_millis(T0 + 3 * HOUR))
            .expect("a valid phase"),
    );
    let empty = aggregates(store, &second).await;
    for variant in 0..2 {
        assert_eq!(
            metric_covariate(&empty, variant, "spend"),
            Some(sums(0, 0.0, 0.0, 0.0))
        );
        assert_eq!(
            stage_covariate(&empty, variant, "purchase"),
            Some(sums(0, 0.0, 0.0, 0.0))
        );
    }
    // u1 in phase 2 is a new unit: its x is phase 2's (7 orders), not phase 1's 3.
    assert!(expose_unit(store, &second, "u1", 0, "mobile", &[("orders_90d", 7.0)]).await);
    let buy = [event(
        &format!("{}:p2-buy", second.key()),
        "u1",
        "purchase",
        Some(2.0),
        T0 + 4 * HOUR,
    )];
    store
        .record_events(std::slice::from_ref(&second), &buy)
        .await
        .expect("recorded");
    let agg = aggregates(store, &second).await;
    // Orders 7: buyer 0→1: 7; purchases +1: 7. Revenue missing: Σx 0, Σxy 0·2 = 0.
    assert_eq!(
        metric_covariate(&agg, 0, "buyer"),
        Some(sums(0, 7.0, 49.0, 7.0))
    );
    assert_eq!(
        metric_covariate(&agg, 0, "purchases"),
        Some(sums(0, 7.0, 49.0, 7.0))
    );
    assert_eq!(
        metric_covariate(&agg, 0, "spend"),
        Some(sums(1, 0.0, 0.0, 0.0))
    );
    // Phase 1 is unchanged.
    let phase_one = second.at_phase(1).expect("phase 1");
    assert_eq!(aggregates(store, &phase_one).await, before);
}

pub async fn a_unit_exposed_before_its_covariate_was_declared_counts_as_missing(store: &dyn Store) {
    // The same experiment and phase, first without covariates, then with them (a new metric
    // may declare one while running): u0, exposed before, has no x.
    let with = Arc::new(experiment_with_covariates("cuped-late"));
    let mut spec = with.spec().clone();
    spec.covariates.clear();
    for metric in &mut spec.metrics {
        metric.covariate = None;
    }
    let without = Arc::new(Experiment::new(spec).expect("spec is valid"));
    assert!(expose_unit(store, &without, "u0", 0, "mobile", &[("orders_90d", 5.0)]).await);
    assert!(expose_unit(store, &with, "u1", 0, "mobile", &[("orders_90d", 3.0)]).await);
    let buys = [
        event(
            &format!("{}:b0", with.key()),
            "u0",
            "purchase",
            Some(1.0),
            T0 + HOUR,
        ),
        event(
            &format!("{}:b1", with.key()),
            "u1",
            "purchase",
            Some(1.0),
            T0 + HOUR,
        ),
    ];
    store
        .record_events(std::slice::from_ref(&with), &buys)
        .await
        .expect("recorded");
    let agg = aggregates(store, &with).await;
    // Two units; u0 missing (x = 0, its 5 sent to a definition without covariates is not
    // kept); Σx 3, Σxy 3·1 + 0·1 = 3.
    assert_eq!(agg.variants[0].units, 2);
    assert_eq!(
        metric_covariate(&agg, 0, "buyer"),
        Some(sums(1, 3.0, 9.0, 3.0))
    );
    let mobile = store
        .load_slices(&with, "device")
        .await
        .expect("slices load");
    assert_eq!(
        metric_covariate(&mobile[0].aggregates, 0, "buyer"),
        Some(sums(1, 3.0, 9.0, 3.0))
    );
}
