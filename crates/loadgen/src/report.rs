//! Figures from the runs: throughput, latency percentiles, ratios to the bare endpoint; as a
//! table for people and as JSON for scripts.

use crate::cli::Scenario;
use crate::client::Run;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

impl Figures {
    pub fn from_run(scenario: Scenario, mut run: Run) -> Figures {
        run.latencies_us.sort_unstable();
        let seconds = run.elapsed.as_secs_f64().max(f64::EPSILON);
        let requests = run.succeeded + run.failed;
        let ms = |q: f64| f64::from(percentile(&run.latencies_us, q)) / 1000.0;
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

/// Fills in each scenario's ratio to the bare endpoint measured in the same run.
pub fn add_ratios(figures: &mut [Figures]) {
    let bare = figures
        .iter()
        .find(|f| f.scenario == Scenario::Bare)
        .map(|f| f.requests_per_second);
    if let Some(bare) = bare.filter(|rate| *rate > 0.0) {
        for f in figures.iter_mut() {
            f.ratio_to_bare = Some(f.requests_per_second / bare);
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
            "{:<8} {:>10} {:>7} {:>10} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "scenario",
            "requests",
            "failed",
            "req/s",
            "items/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "vs bare"
        );
        for f in &self.figures {
            let ratio = f
                .ratio_to_bare
                .map(|r| format!("{:.0}%", r * 100.0))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<8} {:>10} {:>7} {:>10.0} {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8}",
                format!("{:?}", f.scenario).to_lowercase(),
                f.requests,
                f.failed,
                f.requests_per_second,
                f.items_per_second,
                f.p50_ms,
                f.p90_ms,
                f.p99_ms,
                f.max_ms,
                ratio
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
        let mut figures = vec![
            Figures::from_run(Scenario::Bare, run(200, 0, 200)),
            Figures::from_run(Scenario::Events, run(90, 10, 4500)),
        ];
        add_ratios(&mut figures);
        assert_eq!(figures[0].requests_per_second, 100.0);
        assert_eq!(figures[1].requests_per_second, 50.0);
        assert_eq!(figures[1].items_per_second, 2250.0);
        assert_eq!(figures[1].ratio_to_bare, Some(0.5));
        assert_eq!(figures[1].p50_ms, 2.0);
        assert_eq!(figures[1].max_ms, 3.0);
    }
}
