//! Command-line options of `touchstone-loadgen`.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "touchstone-loadgen",
    version,
    about = "Drives POST /v1/assign and /v1/events at fixed concurrency and compares them with a bare actix-web JSON endpoint"
)]
pub struct Args {
    /// How long each scenario is measured (after its warm-up): 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured time before each scenario (connections open, caches fill).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Most requests sent in one measured scenario; it ends at this count or at --duration.
    #[arg(long, default_value_t = 2_000_000)]
    pub max_requests: u64,
    /// Requests in flight at all times: one keep-alive HTTP/1.1 connection each.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Threads of the client's runtime. One keeps the client's share of a small machine
    /// predictable; client and server share the cores.
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Base URL of a running server, e.g. http://127.0.0.1:8080.
    #[arg(long, conflicts_with = "spawn")]
    pub server: Option<String>,
    /// Start the release `touchstone` binary itself on a free loopback port (stopped at exit).
    #[arg(long)]
    pub spawn: bool,
    /// The server binary for --spawn (default: `touchstone` beside this binary).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Store of the spawned server (TOUCHSTONE__STORE__URL).
    #[arg(long, default_value = "memory://")]
    pub store_url: String,
    /// Log level of the spawned server (TOUCHSTONE__LOG__LEVEL).
    #[arg(long, default_value = "info")]
    pub server_log_level: String,
    /// Which scenarios to run, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Bare, Scenario::Assign, Scenario::EventsRandom, Scenario::Events])]
    pub scenarios: Vec<Scenario>,
    /// More running experiments (at touchpoints of their own) defined for ofrep-bulk, so
    /// bulk evaluation answers 1 + this many flags.
    #[arg(long, default_value_t = 19)]
    pub bulk_extra: usize,
    /// Events per POST /v1/events.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Exposed units the events-random scenario draws from (the first this many assigned).
    #[arg(long, default_value_t = 20_000)]
    pub event_units: u64,
    /// Pid of the --server process, so its CPU time per request is read from /proc (with
    /// --spawn the spawned server's is read without asking).
    #[arg(long, conflicts_with = "spawn")]
    pub server_pid: Option<u32>,
    /// Experiment definition (TOML or JSON) to define and start instead of the built-in one,
    /// e.g. one at a touchpoint with a plugin bound.
    #[arg(long)]
    pub experiment_file: Option<PathBuf>,
    /// Touchpoint sent in /v1/assign (default: the experiment's own).
    #[arg(long)]
    pub assign_touchpoint: Option<String>,
    /// A plugin module (`.wasm`) to upload and bind to the assign touchpoint, named after its
    /// file; e.g. plugins/dist/pdp-ugc-gallery.wasm. Bound for the whole run, or only during
    /// each `assign-plugin` scenario when the list has one.
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// The binding's config, as JSON.
    #[arg(long, default_value = "{}")]
    pub plugin_config: String,
    /// Attributes sent with every /v1/assign, as a JSON object (for targeting or plugins).
    #[arg(long, default_value = r#"{"device":"mobile","country":"DE"}"#)]
    pub attributes: String,
    /// Admin API key for defining and starting the experiment (`Authorization: Bearer`).
    #[arg(long)]
    pub admin_key: Option<String>,
    /// Client API key for /v1/assign and /v1/events.
    #[arg(long)]
    pub client_key: Option<String>,
    /// Worker threads of the in-process bare endpoint (default: one per core, as the server).
    #[arg(long)]
    pub bare_workers: Option<usize>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Internal: serve the bare endpoint in this process and print its address (the run
    /// starts it this way so its CPU time is its own).
    #[arg(long, hide = true)]
    pub serve_bare: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// A bare actix-web JSON endpoint started in this process: the baseline.
    Bare,
    /// POST /v1/assign, a new unit id per request.
    Assign,
    /// POST /v1/events in batches, for units assigned in the assign scenario: the ordered walk
    /// (every unit views, then every unit adds to cart, ...).
    Events,
    /// POST /v1/events in batches: random journey events of random units among the first
    /// `--event-units` assigned.
    EventsRandom,
    /// POST /v1/assign as `assign`, with `--plugin` bound to the touchpoint during this
    /// scenario only (bound before, unbound after), so `assign` in the same run measures the
    /// same requests without it.
    AssignPlugin,
    /// POST /ofrep/v1/evaluate/flags/{key} (OFREP single evaluation, records the exposure), a
    /// new unit id per request: the same work as assign, through OpenFeature's protocol.
    Ofrep,
    /// POST /ofrep/v1/evaluate/flags (OFREP bulk evaluation, records nothing) over the
    /// experiment and `--bulk-extra` more, a new unit id per request.
    OfrepBulk,
}

/// `10s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s, 500ms or 1m"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`; use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("`{text}`: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_milliseconds_and_minutes() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn durations_without_a_number_or_with_an_unknown_unit_are_refused() {
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn defaults_run_bare_assign_and_both_event_workloads_for_ten_seconds_at_64() {
        let args = Args::try_parse_from(["touchstone-loadgen", "--spawn"]).expect("parses");
        assert_eq!(
            args.scenarios,
            vec![
                Scenario::Bare,
                Scenario::Assign,
                Scenario::EventsRandom,
                Scenario::Events
            ]
        );
        assert_eq!(args.event_units, 20_000);
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(args.concurrency, 64);
        assert_eq!(args.batch, 50);
    }

    #[test]
    fn assign_with_and_without_the_plugin_can_alternate_in_one_run() {
        let args = Args::try_parse_from([
            "touchstone-loadgen",
            "--scenarios",
            "assign,assign-plugin,assign,assign-plugin",
        ])
        .expect("parses");
        assert_eq!(
            args.scenarios,
            vec![
                Scenario::Assign,
                Scenario::AssignPlugin,
                Scenario::Assign,
                Scenario::AssignPlugin
            ]
        );
    }

    #[test]
    fn server_and_spawn_exclude_each_other() {
        let parsed = Args::try_parse_from([
            "touchstone-loadgen",
            "--spawn",
            "--server",
            "http://127.0.0.1:1",
        ]);
        assert!(parsed.is_err());
    }
}
