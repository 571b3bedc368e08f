//! Metrics (Prometheus text at `GET /metrics`) and the helpers that both log and count a
//! notable happening, so the two never drift apart. Labels are bounded: route patterns,
//! experiment and variant keys, reasons — never a unit id.

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets from 100 µs to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// How often histogram observations are folded into their buckets. The recorder keeps every
/// observation until a render (`GET /metrics`) or an upkeep drains it, and
/// `build_recorder` starts no upkeep of its own: a server nobody scraped grew by every
/// request's latency and fuel samples — memory without bound, and fresh pages touched on the
/// request path.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Name of the thread that runs the upkeep.
const UPKEEP_THREAD: &str = "metrics-upkeep";

/// Installs the process-wide recorder once, starts its upkeep, and returns the handle that
/// renders it.
pub fn init() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(SECONDS_BUCKETS)
                .map(PrometheusBuilder::build_recorder);
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    // Fails only if another recorder was installed first; then ours stays
                    // unrendered but harmless.
                    let _ = metrics::set_global_recorder(recorder);
                    start_upkeep(handle.clone());
                    handle
                }
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Drains the recorder every [`UPKEEP_INTERVAL`] for the life of the process.
fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name(UPKEEP_THREAD.into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "no metrics upkeep thread: histograms are drained only by GET /metrics");
    }
}

/// Per worker thread, the handles of the per-request series. `metrics::counter!` with owned
/// labels allocates each label and looks the series up in the registry's map on every call;
/// under an assign load that was a few per cent of the server's CPU, so a series is looked up
/// once per thread and its handle reused. Handles are taken after [`init`] (the application
/// installs the recorder before it serves), and the keys are as bounded as the labels: route
/// patterns × methods × statuses, experiments × variants.
type HttpSeries = HashMap<String, HashMap<String, HashMap<u16, (Counter, Histogram)>>>;
/// The exposures counter is registered at the variant's first new exposure, as before.
type AssignmentSeries = HashMap<String, HashMap<String, (Counter, Option<Counter>)>>;

thread_local! {
    static HTTP_SERIES: RefCell<HttpSeries> = RefCell::new(HashMap::new());
    static ASSIGNMENT_SERIES: RefCell<AssignmentSeries> = RefCell::new(HashMap::new());
}

pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    HTTP_SERIES.with(|series| {
        let mut series = series.borrow_mut();
        let by_method = match series.get_mut(route) {
            Some(by_method) => by_method,
            None => series.entry(route.to_owned()).or_default(),
        };
        let by_status = match by_method.get_mut(method) {
            Some(by_status) => by_status,
            None => by_method.entry(method.to_owned()).or_default(),
        };
        let (requests, duration) = by_status.entry(status).or_insert_with(|| {
            (
                metrics::counter!("http_requests_total", "route" => route.to_owned(), "method" => method.to_owned(), "status" => status.to_string()),
                metrics::histogram!("http_request_duration_seconds", "route" => route.to_owned(), "method" => method.to_owned()),
            )
        });
        requests.increment(1);
        duration.record(elapsed.as_secs_f64());
    });
}

pub fn assignment(experiment: &str, variant: &str, new_exposure: bool) {
    ASSIGNMENT_SERIES.with(|series| {
        let mut series = series.borrow_mut();
        let by_variant = match series.get_mut(experiment) {
            Some(by_variant) => by_variant,
            None => series.entry(experiment.to_owned()).or_default(),
        };
        let (assignments, exposures) = match by_variant.get_mut(variant) {
            Some(handles) => handles,
            None => by_variant.entry(variant.to_owned()).or_insert_with(|| {
                (
                    metrics::counter!("touchstone_assignments_total", "experiment" => experiment.to_owned(), "variant" => variant.to_owned()),
                    None,
                )
            }),
        };
        assignments.increment(1);
        if new_exposure {
            exposures
                .get_or_insert_with(|| metrics::counter!("touchstone_exposures_total", "experiment" => experiment.to_owned(), "variant" => variant.to_owned()))
                .increment(1);
        }
    });
}

pub fn events(accepted: usize, duplicates: usize, invalid: usize) {
    metrics::counter!("touchstone_events_total", "outcome" => "accepted")
        .increment(accepted as u64);
    metrics::counter!("touchstone_events_total", "outcome" => "duplicate")
        .increment(duplicates as u64);
    metrics::counter!("touchstone_events_total", "outcome" => "invalid").increment(invalid as u64);
}

/// A store call failed: a recovered fault from the request's point of view (WARN), counted
/// by operation so an alert can fire on the rate.
pub fn store_failure(operation: &'static str, error: &dyn std::error::Error) {
    tracing::warn!(operation, error = %error, source = ?error.source(), "store call failed");
    metrics::counter!("touchstone_store_errors_total", "operation" => operation).increment(1);
}

/// Processed event markers deleted by a sweep (`markers.rs`): their rate follows the events'
/// of a TTL earlier, so a flat line while events flow means no server is sweeping.
pub fn event_markers_swept(deleted: u64) {
    tracing::info!(deleted, "expired event markers deleted");
    metrics::counter!("touchstone_event_markers_swept_total").increment(deleted);
}

pub fn rejected_request(reason: &'static str) {
    metrics::counter!("touchstone_rejected_requests_total", "reason" => reason).increment(1);
}

/// One plugin hook call: counted by outcome (failures are also logged, with the reason, by
/// the plugin host), its duration, and the fuel it used when metered (instructions, about one
/// per wasm operator). The handles are looked up once per plugin and hook and kept: building
/// three labelled keys and finding them in the registry on every call cost more than the
/// recording itself, twice per assign with a plugin bound (decision 025).
pub fn plugin_call(
    plugin: &str,
    hook: &'static str,
    ok: bool,
    elapsed: Duration,
    fuel: Option<u64>,
) {
    plugin_metrics::with(plugin, hook, |handles| {
        if ok {
            handles.ok.increment(1);
        } else {
            handles.fallback.increment(1);
        }
        handles.duration.record(elapsed.as_secs_f64());
        if let Some(fuel) = fuel {
            handles.fuel.record(fuel as f64);
        }
    });
}

mod plugin_metrics {
    use metrics::{Counter, Histogram};
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};

    pub(super) struct Handles {
        pub(super) ok: Counter,
        pub(super) fallback: Counter,
        pub(super) duration: Histogram,
        pub(super) fuel: Histogram,
    }

    impl Handles {
        fn new(plugin: &str, hook: &'static str) -> Handles {
            let calls = |outcome: &'static str| metrics::counter!("touchstone_plugin_calls_total", "plugin" => plugin.to_owned(), "hook" => hook, "outcome" => outcome);
            Handles {
                ok: calls("ok"),
                fallback: calls("fallback"),
                duration: metrics::histogram!("touchstone_plugin_call_duration_seconds", "plugin" => plugin.to_owned(), "hook" => hook),
                fuel: metrics::histogram!("touchstone_plugin_fuel_used", "plugin" => plugin.to_owned(), "hook" => hook),
            }
        }
    }

    /// Plugin → (hook, handles). Bounded by the plugins ever loaded times three hooks.
    type Registry = RwLock<HashMap<Box<str>, Vec<(&'static str, Handles)>>>;

    static HANDLES: OnceLock<Registry> = OnceLock::new();

    pub(super) fn with(plugin: &str, hook: &'static str, record: impl FnOnce(&Handles)) {
        let registry = HANDLES.get_or_init(Registry::default);
        let find =
            |hooks: &Vec<(&'static str, Handles)>| hooks.iter().position(|(kind, _)| *kind == hook);
        if let Ok(map) = registry.read()
            && let Some(hooks) = map.get(plugin)
            && let Some(index) = find(hooks)
        {
            record(&hooks[index].1);
            return;
        }
        // First call of this plugin's hook: register its handles (a poisoned lock only means
        // another thread panicked while registering; the map is still whole).
        let mut map = registry
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let hooks = map.entry(plugin.into()).or_default();
        let index = find(hooks).unwrap_or_else(|| {
            hooks.push((hook, Handles::new(plugin, hook)));
            hooks.len() - 1
        });
        record(&hooks[index].1);
    }
}

/// The plugin versions this server runs, after a swap: `touchstone_plugin_running{plugin,
/// version}` is 1 for each running version and 0 for one it no longer runs (the series stays,
/// so a dashboard sees the change).
pub fn plugins_running(before: &[(String, String)], after: &[(String, String)]) {
    for (plugin, version) in before.iter().filter(|entry| !after.contains(entry)) {
        metrics::gauge!("touchstone_plugin_running", "plugin" => plugin.clone(), "version" => version.clone())
            .set(0.0);
    }
    for (plugin, version) in after {
        metrics::gauge!("touchstone_plugin_running", "plugin" => plugin.clone(), "version" => version.clone())
            .set(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upkeep_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .expect("Linux lists a process's threads")
            .filter_map(Result::ok)
            .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
            .filter(|name| name.trim() == UPKEEP_THREAD)
            .count()
    }

    #[test]
    fn the_recorder_is_drained_by_a_thread_of_its_own_without_any_scrape() {
        init();
        init();
        // A new thread takes its name once it first runs: wait for it (bounded).
        let mut found = upkeep_threads();
        for _ in 0..500 {
            if found > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            found = upkeep_threads();
        }
        assert_eq!(found, 1, "one upkeep thread however often init runs");
    }
}
