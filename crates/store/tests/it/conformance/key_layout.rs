//! Conformance cases for the key layout (issue 15): no two (segment attribute, value) pairs
//! share a slice, whatever `:` the names and values hold — on memory, Redis and Cluster — and
//! a batch counted for several experiments in one store call counts each as it would alone.

use crate::fixtures::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use touchstone_model::{Experiment, Timestamp};
use touchstone_store::{Exposure, Store};

/// The fixture experiment with these declared segments and `interacts_with`.
fn with_segments(name: &str, segments: &[&str], interacts_with: &[&str]) -> Experiment {
    let mut spec = experiment(name).spec().clone();
    spec.segments = segments.iter().map(|s| (*s).to_owned()).collect();
    spec.interacts_with = interacts_with.iter().map(|s| (*s).to_owned()).collect();
    Experiment::new(spec).expect("spec is valid")
}

async fn expose_in(store: &dyn Store, exp: &Experiment, unit: &str, segments: &[(&str, &str)]) {
    let exposure = Exposure {
        unit_id: unit.into(),
        variant: 0,
        at: Timestamp::from_millis(T0),
        segments: segments
            .iter()
            .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        plugin_version: None,
        covariates: Default::default(),
    };
    store
        .record_exposure(exp, &exposure)
        .await
        .expect("exposed");
}

/// (value, units in control) of every slice of `attribute`.
async fn slice_units(store: &dyn Store, exp: &Experiment, attribute: &str) -> Vec<(String, u64)> {
    store
        .load_slices(exp, attribute)
        .await
        .expect("slices")
        .into_iter()
        .map(|slice| (slice.value, slice.aggregates.variants[0].units))
        .collect()
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected
        .iter()
        .map(|(v, n)| ((*v).to_owned(), *n))
        .collect()
}

pub async fn segment_slices_never_share_a_key(store: &dyn Store) {
    // Segments `a` and `a:b`: u1 has a = "b:c", u2 has a:b = "c" (once the same key).
    let exp = Arc::new(with_segments("colliding", &["a", "a:b"], &[]));
    expose_in(store, &exp, "u1", &[("a", "b:c"), ("a:b", "x")]).await;
    expose_in(store, &exp, "u2", &[("a", "y"), ("a:b", "c")]).await;
    let purchases = [
        event(
            &format!("{}:1", exp.key()),
            "u1",
            "purchase",
            Some(10.0),
            T0 + HOUR,
        ),
        event(
            &format!("{}:2", exp.key()),
            "u2",
            "purchase",
            Some(30.0),
            T0 + HOUR,
        ),
    ];
    store
        .record_events(std::slice::from_ref(&exp), &purchases)
        .await
        .expect("recorded");
    assert_eq!(
        slice_units(store, &exp, "a").await,
        pairs(&[("b:c", 1), ("y", 1)])
    );
    assert_eq!(
        slice_units(store, &exp, "a:b").await,
        pairs(&[("c", 1), ("x", 1)])
    );
    let a = store.load_slices(&exp, "a").await.expect("slices");
    let revenue = |value: &str| {
        let slice = a.iter().find(|s| s.value == value).expect("slice");
        metric(&slice.aggregates, 0, "revenue_per_unit")
    };
    assert_eq!(revenue("b:c"), moments(1, 10.0, 100.0));
    assert_eq!(revenue("y"), moments(1, 30.0, 900.0));

    // A segment named `exp` whose value `e2:a` once landed in the `interacts_with` slice of
    // experiment `e2` (attribute `exp:e2`, value `a`).
    let exp = Arc::new(with_segments("shadow", &["exp"], &["e2"]));
    expose_in(store, &exp, "u1", &[("exp", "e2:a"), ("exp:e2", "b")]).await;
    expose_in(store, &exp, "u2", &[("exp", "z"), ("exp:e2", "a")]).await;
    assert_eq!(
        slice_units(store, &exp, "exp").await,
        pairs(&[("e2:a", 1), ("z", 1)])
    );
    assert_eq!(
        slice_units(store, &exp, "exp:e2").await,
        pairs(&[("a", 1), ("b", 1)])
    );
}

pub async fn a_batch_over_several_experiments_counts_each_as_alone(store: &dyn Store) {
    let first = Arc::new(experiment("batch-first"));
    let second = Arc::new(with_segments("batch-second", &["device"], &[]));
    for exp in [&first, &second] {
        expose(store, exp, "u1", 0, T0).await;
        expose(store, exp, "u2", 1, T0).await;
    }
    let id = |n: u32| format!("{}:{n}", first.key());
    let batch = [
        event(&id(1), "u1", "purchase", Some(10.0), T0 + HOUR),
        event(&id(2), "u1", "purchase", Some(5.0), T0 + 2 * HOUR),
        event(&id(3), "u2", "add_to_cart", None, T0 + HOUR),
        event(&id(4), "u2", "survey", Some(9.0), T0 + HOUR),
        event(&id(5), "u2", "survey", Some(3.0), T0 + 2 * HOUR),
    ];
    let both = [first.clone(), second.clone()];
    store.record_events(&both, &batch).await.expect("recorded");
    for exp in [&first, &second] {
        let agg = aggregates(store, exp).await;
        // u1: revenue 15 (one unit), two purchases, repeat purchase reached.
        assert_eq!(metric(&agg, 0, "revenue_per_unit"), moments(1, 15.0, 225.0));
        assert_eq!(metric(&agg, 0, "purchases"), moments(1, 2.0, 4.0));
        assert_eq!(metric(&agg, 0, "repeat_purchase"), moments(1, 1.0, 1.0));
        // u2: last answer 3 (a detractor, −100) replaced 9 (a promoter).
        assert_eq!(metric(&agg, 1, "nps"), moments(1, -100.0, 10_000.0));
        assert_eq!(stage(&agg, 1, "add_to_cart").reached, 1);
    }
    // The same batch again is all duplicates and changes nothing.
    let again = store.record_events(&both, &batch).await.expect("recorded");
    assert_eq!(again.duplicates(), batch.len());
    assert_eq!(
        metric(&aggregates(store, &first).await, 0, "purchases"),
        moments(1, 2.0, 4.0)
    );
}
