//! Figures from the runs: throughput, latency percentiles, CPU time per request of the serving
//! processes, ratios to the bare endpoint; as a table for people and as JSON for scripts.

use crate::cli::Scenario;
use crate::client::Run;
use crate::cpu::Spent;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub scenario: Scenario,
    pub requests: u64,
    pub failed: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    /// Events per second for the events scenario (accepted events), requests otherwise.
    pub items_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Requests per second over the bare endpoint's, when it ran.
    pub ratio_to_bare: Option<f64>,
    /// CPU seconds each watched process (server, redis, or the bare endpoint; and this client)
    /// spent over the measured stretch, from /proc.
    pub cpu: Vec<ProcessCpu>,
    /// CPU microseconds of the serving processes (server + Redis, or the bare endpoint; not
    /// the client) per successful request.
    pub cpu_us_per_request: Option<f64>,
    /// The same per item: per accepted event for the events scenarios, per request otherwise.
    pub cpu_us_per_item: Option<f64>,
    /// `cpu_us_per_item` over the bare endpoint's CPU per request, same run.
    pub cpu_ratio_to_bare: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

/// One process's CPU time over a measured stretch.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessCpu {
    pub process: &'static str,
    pub pid: u32,
    pub seconds: f64,
    /// Per successful request.
    pub us_per_request: Option<f64>,
}

impl ProcessCpu {
    fn serves(&self) -> bool {
        self.process != "client"
    }
}

impl Figures {
    pub fn from_run(scenario: Scenario, mut run: Run, spent: Vec<Spent>) -> Figures {
        run.latencies_us.sort_unstable();
        let seconds = run.elapsed.as_secs_f64().max(f64::EPSILON);
        let requests = run.succeeded + run.failed;
        let ms = |q: f64| f64::from(percentile(&run.latencies_us, q)) / 1000.0;
        let per =
            |cpu_seconds: f64, count: u64| (count > 0).then(|| cpu_seconds * 1e6 / count as f64);
        let cpu: Vec<ProcessCpu> = spent
            .into_iter()
            .map(|spent| ProcessCpu {
                process: spent.process,
                pid: spent.pid,
                seconds: spent.seconds,
                us_per_request: per(spent.seconds, run.succeeded),
            })
            .collect();
        let serving: Vec<&ProcessCpu> = cpu.iter().filter(|p| p.serves()).collect();
        let served_seconds: f64 = serving.iter().map(|p| p.seconds).sum();
        let measured = !serving.is_empty();
        Figures {
            scenario,
            requests,
            failed: run.failed,
            seconds,
            requests_per_second: requests as f64 / seconds,
            items_per_second: run.items as f64 / seconds,
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: ms(1.0),
            ratio_to_bare: None,
            cpu_us_per_request: per(served_seconds, run.succeeded).filter(|_| measured),
            cpu_us_per_item: per(served_seconds, run.items).filter(|_| measured),
            cpu,
            cpu_ratio_to_bare: None,
            first_failure: run.first_failure,
        }
    }
}

/// The nearest-rank percentile of sorted values (0 for none).
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Fills in each scenario's ratios to the bare endpoint measured in the same run: of
/// throughput, and of CPU time per item (event or request) to the bare CPU per request.
pub fn add_ratios(figures: &mut [Figures]) {
    let bare = figures.iter().find(|f| f.scenario == Scenario::Bare);
    let rate = bare.map(|f| f.requests_per_second);
    let cpu = bare.and_then(|f| f.cpu_us_per_request);
    for f in figures.iter_mut() {
        if let Some(rate) = rate.filter(|rate| *rate > 0.0) {
            f.ratio_to_bare = Some(f.requests_per_second / rate);
        }
        if let (Some(bare), Some(item)) = (cpu.filter(|us| *us > 0.0), f.cpu_us_per_item) {
            f.cpu_ratio_to_bare = Some(item / bare);
        }
    }
}

/// The run's setting, printed with the figures so a table says what produced it.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub target: String,
    pub store: Option<String>,
    pub concurrency: usize,
    pub client_threads: usize,
    pub duration_seconds: f64,
    pub batch: usize,
    pub touchpoint: String,
    pub experiment: String,
    pub plugin: Option<String>,
    pub cores: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub setting: Setting,
    pub figures: Vec<Figures>,
}

impl Report {
    pub fn table(&self) -> String {
        let s = &self.setting;
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "target {} (store {}), {} connections, {} client thread(s), {:.0}s per scenario, {} cores, experiment `{}` at `{}`, plugin {}",
            s.target,
            s.store.as_deref().unwrap_or("as configured"),
            s.concurrency,
            s.client_threads,
            s.duration_seconds,
            s.cores,
            s.experiment,
            s.touchpoint,
            s.plugin.as_deref().unwrap_or("none"),
        );
        let _ = writeln!(
            out,
            "{:<13} {:>9} {:>6} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>7} | {:>8} {:>8} {:>8} {:>8} {:>8}",
            "scenario",
            "requests",
            "failed",
            "req/s",
            "items/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "vs bare",
            "client",
            "served",
            "server",
            "redis",
            "per item",
            "vs bare",
        );
        let _ = writeln!(
            out,
            "{:<13} {:>9} {:>6} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>7} | {:>8} {:>8} {:>8} {:>8} {:>8}",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "µs/req",
            "µs/req",
            "µs/req",
            "µs/req",
            "µs",
            "(cpu)",
        );
        let micros = |value: Option<f64>| {
            value
                .map(|us| format!("{us:.1}"))
                .unwrap_or_else(|| "-".into())
        };
        for f in &self.figures {
            let ratio = f
                .ratio_to_bare
                .map(|r| format!("{:.0}%", r * 100.0))
                .unwrap_or_else(|| "-".into());
            let of = |name: &str| {
                f.cpu
                    .iter()
                    .find(|p| p.process == name)
                    .and_then(|p| p.us_per_request)
            };
            let cpu_ratio = f
                .cpu_ratio_to_bare
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<13} {:>9} {:>6} {:>8.0} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>8} {:>7} | {:>8} {:>8} {:>8} {:>8} {:>8}",
                scenario_name(f.scenario),
                f.requests,
                f.failed,
                f.requests_per_second,
                f.items_per_second,
                f.p50_ms,
                f.p99_ms,
                f.max_ms,
                ratio,
                micros(of("client")),
                micros(f.cpu_us_per_request),
                micros(of("server").or(of("bare"))),
                micros(of("redis")),
                micros(f.cpu_us_per_item),
                cpu_ratio,
            );
        }
        for f in &self.figures {
            if let Some(failure) = &f.first_failure {
                let _ = writeln!(out, "first failure in {:?}: {failure}", f.scenario);
            }
        }
        out
    }
}

/// The scenario as `--scenarios` spells it.
fn scenario_name(scenario: Scenario) -> String {
    serde_json::to_value(scenario)
        .ok()
        .and_then(|value| value.as_str().map(|name| name.replace('_', "-")))
        .unwrap_or_else(|| format!("{scenario:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
        assert_eq!(percentile(&values, 0.0), 1);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn figures_count_failures_as_requests_and_ratios_compare_with_bare() {
        let run = |succeeded, failed, items| Run {
            succeeded,
            failed,
            items,
            elapsed: Duration::from_secs(2),
            latencies_us: vec![3000, 1000, 2000],
            first_failure: None,
        };
        let spent = |process, seconds| Spent {
            process,
            pid: 1,
            seconds,
        };
        let mut figures = vec![
            Figures::from_run(
                Scenario::Bare,
                run(200, 0, 200),
                vec![spent("bare", 0.002), spent("client", 0.5)],
            ),
            Figures::from_run(
                Scenario::Events,
                run(90, 10, 4500),
                vec![
                    spent("server", 0.036),
                    spent("redis", 0.009),
                    spent("client", 0.5),
                ],
            ),
        ];
        add_ratios(&mut figures);
        assert_eq!(figures[0].requests_per_second, 100.0);
        assert_eq!(figures[1].requests_per_second, 50.0);
        assert_eq!(figures[1].items_per_second, 2250.0);
        assert_eq!(figures[1].ratio_to_bare, Some(0.5));
        assert_eq!(figures[1].p50_ms, 2.0);
        assert_eq!(figures[1].max_ms, 3.0);
        // Bare: 2 ms over 200 requests = 10 µs each; the client's own time is not counted.
        assert_close(figures[0].cpu_us_per_request, 10.0);
        // Events: (36 + 9) ms over 90 successful requests = 500 µs, over 4 500 events = 10 µs
        // per event: the bare endpoint's 10 µs per request, a ratio of 1.
        assert_close(figures[1].cpu_us_per_request, 500.0);
        assert_close(figures[1].cpu_us_per_item, 10.0);
        assert_close(figures[1].cpu_ratio_to_bare, 1.0);
        assert_close(figures[1].cpu[1].us_per_request, 100.0);
    }

    fn assert_close(value: Option<f64>, expected: f64) {
        let value = value.expect("a figure");
        assert!((value - expected).abs() < 1e-9, "{value} != {expected}");
    }

    #[test]
    fn without_a_serving_process_there_is_no_cpu_figure() {
        let run = Run {
            succeeded: 10,
            items: 10,
            elapsed: Duration::from_secs(1),
            ..Run::default()
        };
        let client = Spent {
            process: "client",
            pid: 1,
            seconds: 0.1,
        };
        let figures = Figures::from_run(Scenario::Assign, run, vec![client]);
        assert_eq!(figures.cpu_us_per_request, None);
        assert_eq!(scenario_name(Scenario::EventsRandom), "events-random");
    }
}
