//! Results in bounded time (issue 17, item 2): the results endpoint, the segments endpoint and
//! one guardrail check read the same number of counters whatever the traffic, so an experiment
//! with 10⁸ exposed units per arm must answer as fast as one with 10³.
//!
//! `cargo run --release -p touchstone-server --example results_at_scale [runs] [size]`
//!
//! With a size (`results-1e3`, `results-1e5` or `results-1e8`) only that size is timed and
//! nothing is printed: the process's CPU time (`/usr/bin/time`) or a `perf record` of it then
//! compares the sizes without the wall clock of a shared machine — the set-up is the same
//! whatever the size.
//!
//! A real `redis-server` on a free port (testkit) and the application in-process on port 0
//! (`Application::spawn`, as `tests/it/app.rs`). Two experiments with the same definition —
//! 4 variants, 6 journey stages, 6 metrics, a 20-value segment attribute — are defined and
//! started through the API; their counters are then written straight into Redis in the
//! store's own key layout (decision 002, `crates/store/src/redis/keys.rs`: the phase's
//! counters hash, one hash per slice, the slice values set, exposures per hour), once for 10³
//! and once for 10⁸ units per arm (and 10⁵, see `main`). Written, not counted: counting 4·10⁸ units through
//! `/v1/events` is the store's load test, not this one. The bench checks that each results
//! document reads back the units it wrote, then times, interleaved so both sizes see the same
//! machine: `GET /v1/experiments/{key}/results`, `GET …/results/segments/device` (20 slices)
//! and one guardrail check (`touchstone_server::guardrails::assess`, the checker's reading and
//! statistics). It prints the median and the spread of each, the ratio 10⁸ / 10³ (want
//! ≤ 1.5), and the load average. A figure, not a test: nothing here is asserted on time.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use touchstone_server::guardrails;
use touchstone_server::settings::Settings;
use touchstone_server::startup::Application;
use touchstone_testkit::binary::TempDir;
use touchstone_testkit::redis::RedisServer;

const VARIANTS: [&str; 4] = ["control", "b", "c", "d"];
const STAGES: [&str; 6] = [
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_shipping",
    "add_payment",
    "purchase",
];
/// Share of exposed units reaching each stage (control; variants lift it a little).
const FUNNEL: [f64; 6] = [0.62, 0.31, 0.18, 0.12, 0.09, 0.06];
const SLICES: usize = 20;
/// Hours of exposures per variant in the `exph` hash (two weeks), the same at both sizes.
const HOURS: i64 = 14 * 24;

/// (key, kind, event, direction, role) of the six metrics.
const METRICS: [(&str, &str, &str, &str, &str); 6] = [
    (
        "repeat_purchase",
        "conversion",
        "purchase",
        "increase",
        "primary",
    ),
    ("revenue", "sum", "purchase", "increase", "primary"),
    (
        "checkout_errors",
        "count",
        "checkout_error",
        "decrease",
        "guardrail",
    ),
    ("nps", "nps", "survey", "increase", "secondary"),
    ("basket_value", "mean", "purchase", "increase", "secondary"),
    (
        "time_to_purchase",
        "duration",
        "purchase",
        "decrease",
        "secondary",
    ),
];

fn definition(key: &str) -> Value {
    json!({
        "key": key,
        "touchpoint": format!("bench.{key}"),
        "variants": VARIANTS.iter().map(|v| json!({"key": v, "weight": 1})).collect::<Vec<_>>(),
        "control": "control",
        "journey": STAGES,
        "segments": ["device"],
        "guardrail_stages": ["purchase"],
        "metrics": METRICS.iter().map(|(key, kind, event, direction, role)| {
            let mut metric = json!({"key": key, "kind": kind, "event": event,
                                    "direction": direction, "role": role});
            if *kind == "conversion" {
                metric["min_count"] = json!(2);
            }
            metric
        }).collect::<Vec<_>>(),
    })
}

/// Count, sum and sum of squares of per-unit values with this mean and variance.
fn moments(count: u64, mean: f64, variance: f64) -> [String; 3] {
    let n = count as f64;
    let sum = n * mean;
    let squares = variance * (n - 1.0).max(0.0) + n * mean * mean;
    [
        count.to_string(),
        format!("{sum:?}"),
        format!("{squares:?}"),
    ]
}

/// The counters hash fields of one arm (`<variant>:u`, `<variant>:s:<stage>:<n|s|q>`,
/// `<variant>:m:<metric>:<n|s|q>`) for `units` exposed units.
fn arm_fields(index: usize, units: u64) -> Vec<(String, String)> {
    let lift = 1.0 + 0.01 * index as f64;
    let mut fields = vec![(format!("{index}:u"), units.to_string())];
    for (stage, share) in STAGES.iter().zip(FUNNEL) {
        let reached = ((units as f64) * share * lift).round() as u64;
        // The stage's moments are seconds from exposure to reaching it.
        for (part, value) in ["n", "s", "q"].iter().zip(moments(reached, 3600.0, 4e6)) {
            fields.push((format!("{index}:s:{stage}:{part}"), value));
        }
    }
    let buyers = ((units as f64) * FUNNEL[5] * lift).round() as u64;
    let repeat = buyers / 5;
    let per_metric: [[String; 3]; 6] = [
        [repeat.to_string(), repeat.to_string(), repeat.to_string()],
        moments(units, 3.1 * lift, 900.0),
        moments(units, 0.02 / lift, 0.03),
        moments(units / 20, 31.0 * lift, 4200.0),
        moments(buyers, 52.0 * lift, 1600.0),
        moments(buyers, 5400.0 / lift, 3.6e7),
    ];
    for ((metric, ..), values) in METRICS.iter().zip(per_metric) {
        for (part, value) in ["n", "s", "q"].iter().zip(values) {
            fields.push((format!("{index}:m:{metric}:{part}"), value));
        }
    }
    fields
}

/// Writes one experiment's counters for `units` per arm in the store's key layout.
fn write_counters(redis: &RedisServer, key: &str, units: u64) -> anyhow::Result<()> {
    let prefix = format!("{{exp:{key}}}:p1");
    let hset = |hash: &str, fields: Vec<(String, String)>| -> anyhow::Result<()> {
        let mut args = vec!["HSET".to_owned(), hash.to_owned()];
        for (field, value) in fields {
            args.push(field);
            args.push(value);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let reply = redis.cli(&args);
        if reply.trim().parse::<u64>().is_err() {
            bail!("HSET {hash} answered {reply}");
        }
        Ok(())
    };
    let whole = |index| arm_fields(index, units);
    hset(
        &format!("{prefix}:agg"),
        (0..VARIANTS.len()).flat_map(whole).collect(),
    )?;
    let per_slice = units / SLICES as u64;
    let values: Vec<String> = (0..SLICES).map(|i| format!("device-{i:02}")).collect();
    for value in &values {
        hset(
            &format!("{prefix}:seg:device:{value}"),
            (0..VARIANTS.len())
                .flat_map(|index| arm_fields(index, per_slice))
                .collect(),
        )?;
    }
    let mut sadd = vec!["SADD".to_owned(), format!("{prefix}:segvals:device")];
    sadd.extend(values);
    redis.cli(&sadd.iter().map(String::as_str).collect::<Vec<_>>());
    // Exposures per hour over the last two weeks, ending an hour ago.
    let now_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("clock before 1970")?
        .as_secs() as i64
        / 3600;
    let per_hour = units / HOURS as u64;
    hset(
        &format!("{prefix}:exph"),
        (0..VARIANTS.len())
            .flat_map(|index| {
                (1..=HOURS)
                    .map(move |back| (format!("{index}:{}", now_hour - back), per_hour.to_string()))
            })
            .collect(),
    )
}

/// Wall time of one call.
fn timed(call: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let start = Instant::now();
    call()?;
    Ok(start.elapsed())
}

fn get_ok(http: &reqwest::blocking::Client, url: &str) -> anyhow::Result<Value> {
    let reply = http.get(url).send().with_context(|| format!("GET {url}"))?;
    let status = reply.status();
    let body: Value = reply.json().with_context(|| format!("GET {url}: body"))?;
    if !status.is_success() {
        bail!("GET {url}: {status} {body}");
    }
    Ok(body)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse())
        .transpose()
        .context("runs must be a whole number")?
        .unwrap_or(15);
    let only: Option<String> = std::env::args().nth(2);
    let redis = RedisServer::start();
    let dir = TempDir::new("results-at-scale");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (experiments, plugins) = (path("experiments"), path("plugins"));
    let (bindings, cache) = (path("touchpoints"), path("compiled"));
    let store_url = redis.url();
    let settings = Settings::with_overrides(&[
        ("TOUCHSTONE__SERVER__BIND", "127.0.0.1:0"),
        ("TOUCHSTONE__SERVER__WORKERS", "2"),
        ("TOUCHSTONE__STORE__URL", store_url.as_str()),
        ("TOUCHSTONE__EXPERIMENTS__DIR", experiments.as_str()),
        ("TOUCHSTONE__PLUGINS__DIR", plugins.as_str()),
        ("TOUCHSTONE__PLUGINS__BINDINGS_DIR", bindings.as_str()),
        ("TOUCHSTONE__PLUGINS__CACHE_DIR", cache.as_str()),
        // The background checker would run the same analysis during the timings.
        ("TOUCHSTONE__GUARDRAILS__CHECK_INTERVAL_SECONDS", "86400"),
    ])?;
    let min_units = settings.guardrails.min_units;
    let app = Application::spawn(settings)?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    // 10⁵ beside the two sizes: at 10³ per arm a slice holds 50 units, so some of its
    // comparisons are undefined (and cheaper); 10⁵ vs 10⁸ compares fully defined documents.
    let sizes: [(u64, &str); 3] = [
        (1_000, "results-1e3"),
        (100_000, "results-1e5"),
        (100_000_000, "results-1e8"),
    ];
    for (units, key) in sizes {
        let url = format!("{base}/v1/experiments/{key}");
        let reply = http.put(&url).json(&definition(key)).send()?;
        if !reply.status().is_success() {
            bail!("PUT {url}: {} {}", reply.status(), reply.text()?);
        }
        let reply = http.post(format!("{url}/start")).json(&json!({})).send()?;
        if !reply.status().is_success() {
            bail!("start {key}: {} {}", reply.status(), reply.text()?);
        }
        write_counters(&redis, key, units)?;
        let results = get_ok(&http, &format!("{url}/results"))?;
        if results["variants"][3]["units"] != json!(units) {
            bail!("{key}: the results do not read the written counters: {results}");
        }
        let segments = get_ok(&http, &format!("{url}/results/segments/device"))?;
        let slices = segments["values"].as_array().map_or(0, Vec::len);
        if slices != SLICES {
            bail!("{key}: {slices} slices instead of {SLICES}");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime.block_on(touchstone_store::open(&store_url))?;
    let definitions = runtime.block_on(store.load_definitions())?;
    let experiment = |key: &str| {
        definitions
            .experiments
            .iter()
            .find(|e| e.key() == key)
            .cloned()
            .with_context(|| format!("{key} is not in the store"))
    };
    let checks = [
        experiment(sizes[0].1)?,
        experiment(sizes[1].1)?,
        experiment(sizes[2].1)?,
    ];
    for experiment in &checks {
        let found = runtime.block_on(guardrails::assess(store.as_ref(), experiment, min_units))?;
        if found.results.variants[0].units == 0 {
            bail!("{}: the guardrail check read no units", experiment.key());
        }
    }
    // [endpoint][size] → wall times; sizes interleaved run by run.
    let mut times = vec![vec![Vec::new(); sizes.len()]; 3];
    for _ in 0..runs {
        for (size, (_, key)) in sizes.iter().enumerate() {
            if only.as_deref().is_some_and(|only| only != *key) {
                continue;
            }
            let url = format!("{base}/v1/experiments/{key}");
            times[0][size].push(timed(|| {
                get_ok(&http, &format!("{url}/results")).map(drop)
            })?);
            times[1][size].push(timed(|| {
                get_ok(&http, &format!("{url}/results/segments/device")).map(drop)
            })?);
            times[2][size].push(timed(|| {
                runtime
                    .block_on(guardrails::assess(store.as_ref(), &checks[size], min_units))
                    .map(drop)
                    .map_err(anyhow::Error::from)
            })?);
        }
    }
    if only.is_some() {
        return Ok(());
    }
    println!(
        "4 variants, 6 stages, 6 metrics, {SLICES} slices; median of {runs} runs (min–max), \
         {} build; load average {}",
        if cfg!(debug_assertions) {
            "dev (dependencies and touchstone-stats at opt-level 2)"
        } else {
            "release"
        },
        load_average()
    );
    println!(
        "{:<44} {:>24} {:>24} {:>24} {:>10} {:>10}",
        "", "10^3 units per arm", "10^5 units per arm", "10^8 units per arm", "1e8/1e3", "1e8/1e5"
    );
    let names = [
        "GET /v1/experiments/{key}/results",
        "GET …/results/segments/device (20 slices)",
        "one guardrail check (assess)",
    ];
    for (name, mut by_size) in names.iter().zip(times) {
        let mut line = format!("{name:<44}");
        let mut medians = Vec::new();
        for runs in &mut by_size {
            let min = runs.iter().min().copied().unwrap_or_default();
            let max = runs.iter().max().copied().unwrap_or_default();
            let middle = median(runs);
            medians.push(middle);
            line.push_str(&format!(
                " {:>9.2} ms ({:>5.1}–{:>6.1})",
                millis(middle),
                millis(min),
                millis(max)
            ));
        }
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        line.push_str(&format!(
            " {:>10.2} {:>10.2}",
            ratio(medians[2], medians[0]),
            ratio(medians[2], medians[1])
        ));
        println!("{line}");
    }
    drop(app);
    Ok(())
}
