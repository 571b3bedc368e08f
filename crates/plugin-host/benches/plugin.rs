//! The cost of a plugin call, side by side in one run: (a) the floor — pooled instantiate +
//! call of the empty module; (b) one `eligible` call through the host on a ~300-byte
//! context, fresh instance, fuel and epoch on; (c) the same with fuel off. Criterion gives the
//! central estimates; a plain timing loop afterwards prints median and p99 of each (criterion
//! reports no tail percentiles) and the ratio b/a; (d) the JSON round trip alone, through one
//! live instance, for where the difference b - a goes.
//! Run: `scripts/build-plugins.sh && cargo bench -p touchstone-plugin-host --bench plugin`.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use touchstone_plugin_host::{EligibleContext, Hook, HostConfig, Limits, LoadedPlugin, PluginHost};
use touchstone_testkit::plugins::plugin_bytes;

fn context() -> EligibleContext {
    EligibleContext {
        unit_id: "visitor-8f14e45fceea167a5a36dedd4bea2543".into(),
        touchpoint: "checkout.shipping".into(),
        experiments: vec!["free-shipping-banner".into(), "free-shipping-bar".into()],
        attributes:
            json!({"country": "DE", "currency": "EUR", "cart_value": 32.5, "device": "mobile"})
                .as_object()
                .cloned()
                .expect("object"),
        config: json!({"countries": ["DE", "FR", "NL", "BE"], "thresholds": {"EUR": 50.0, "USD": 60.0, "GBP": 45.0}}),
    }
}

fn setup() -> (
    Vec<PluginHost>,
    Arc<LoadedPlugin>,
    Arc<LoadedPlugin>,
    Arc<LoadedPlugin>,
) {
    // The epoch check costs the same whatever the deadline; a deadline of a second instead of
    // 3 ms keeps a bench that the scheduler preempts for a few milliseconds (a busy 2-core
    // machine) from failing on `Deadline`.
    let config = HostConfig {
        default_limits: Limits {
            epoch_ticks: 1000,
            ..Limits::default()
        },
        ..HostConfig::default()
    };
    let fuel = PluginHost::new(config.clone()).expect("host");
    let no_fuel = PluginHost::new(HostConfig {
        consume_fuel: false,
        ..config
    })
    .expect("host");
    let empty = fuel
        .load("empty", &plugin_bytes("empty"))
        .expect("empty loads");
    let with_fuel = fuel
        .load("checkout", &plugin_bytes("checkout-free-shipping"))
        .expect("loads");
    let without_fuel = no_fuel
        .load("checkout", &plugin_bytes("checkout-free-shipping"))
        .expect("loads");
    (vec![fuel, no_fuel], empty, with_fuel, without_fuel)
}

fn calls(c: &mut Criterion) {
    let (_hosts, empty, with_fuel, without_fuel) = setup();
    let ctx = context();
    eprintln!(
        "context: {} bytes of JSON",
        serde_json::to_vec(&ctx).expect("json").len()
    );
    let mut group = c.benchmark_group("plugin_call");
    group.bench_function("a_floor_empty_module", |b| {
        b.iter(|| {
            touchstone_plugin_host::bench::instantiate_and_call_empty(&empty, Hook::Eligible)
                .expect("runs")
        })
    });
    group.bench_function("b_eligible_fuel_and_epoch", |b| {
        b.iter(|| with_fuel.eligible(black_box(&ctx)).expect("runs"))
    });
    group.bench_function("c_eligible_epoch_only", |b| {
        b.iter(|| without_fuel.eligible(black_box(&ctx)).expect("runs"))
    });
    group.finish();

    let a = percentiles(|| {
        touchstone_plugin_host::bench::instantiate_and_call_empty(&empty, Hook::Eligible)
            .map(|_| ())
    });
    // The same floor for the checkout module itself: instantiate it and enter `eligible`
    // with no input (the SDK answers with a short error envelope, no context JSON).
    let a2 = percentiles(|| {
        touchstone_plugin_host::bench::instantiate_and_call_empty(&with_fuel, Hook::Eligible)
            .map(|_| ())
    });
    let b = percentiles(|| with_fuel.eligible(&ctx).map(|_| ()));
    // (d) the JSON round trip alone: the same call through one live instance, 500 calls per
    // instance (the bump allocator never frees), averaged over 40 instances.
    let live_calls = 500;
    let mut live = Vec::new();
    for _ in 0..40 {
        let elapsed = touchstone_plugin_host::bench::live_instance_calls(
            &with_fuel,
            Hook::Eligible,
            &ctx,
            live_calls,
        )
        .expect("runs");
        live.push(elapsed.as_secs_f64() * 1e6 / live_calls as f64);
    }
    live.sort_by(f64::total_cmp);
    let d = live[live.len() / 2];
    let c2 = percentiles(|| without_fuel.eligible(&ctx).map(|_| ()));
    eprintln!("median / p99 over 20000 calls each:");
    eprintln!("  (a) floor            {:>7.2} µs / {:>7.2} µs", a.0, a.1);
    eprintln!("  (a2) floor, checkout {:>7.2} µs / {:>7.2} µs", a2.0, a2.1);
    eprintln!("  (b) fuel + epoch     {:>7.2} µs / {:>7.2} µs", b.0, b.1);
    eprintln!("  (c) epoch, no fuel   {:>7.2} µs / {:>7.2} µs", c2.0, c2.1);
    eprintln!(
        "  b/a median {:.2}, p99 {:.2}; c/a median {:.2}",
        b.0 / a.0,
        b.1 / a.1,
        c2.0 / a.0
    );
    eprintln!(
        "  against the checkout module's own floor: b/a2 median {:.2}, c/a2 median {:.2}",
        b.0 / a2.0,
        c2.0 / a2.0
    );
    eprintln!(
        "  (d) the JSON round trip in a live instance {d:.2} µs: b <= 1.3 x a needs it <= {:.2} µs",
        0.3 * a.0
    );
}

/// Median and p99 in microseconds of `call`, after a warm-up.
fn percentiles<E: std::fmt::Debug>(mut call: impl FnMut() -> Result<(), E>) -> (f64, f64) {
    for _ in 0..2000 {
        call().expect("runs");
    }
    let mut samples: Vec<f64> = (0..20_000)
        .map(|_| {
            let start = Instant::now();
            call().expect("runs");
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

criterion_group!(benches, calls);
criterion_main!(benches);
