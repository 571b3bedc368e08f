//! How one event changes one exposed unit's running state and its variant's moments — the
//! semantics both stores keep. `MemoryStore` runs this code; `record_events.lua` is its line
//! by line twin for Redis, and the conformance suite pins the two to the same numbers.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use touchstone_model::metric::nps_score;
use touchstone_model::{
    Aggregates, Experiment, MetricAggregates, MetricKind, Moments, StageAggregates, Timestamp,
    VariantAggregates,
};

/// Seen event ids are remembered this long after an experiment's longest window closes, so a
/// client retrying a batch a week late still cannot double-count.
pub(crate) const DEDUP_GRACE_SECONDS: u64 = 7 * 24 * 3600;

/// Whole milliseconds in `hours`, rounded the way `Timestamp::plus_hours` rounds.
pub(crate) fn hours_to_millis(hours: f64) -> i64 {
    Timestamp::from_millis(0).plus_hours(hours).as_millis()
}

/// One metric with its window in milliseconds from exposure.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MetricPlan {
    pub key: String,
    pub kind: MetricKind,
    pub event: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub min_count: u32,
}

/// What counting needs to know of an experiment (also sent to the Lua script as JSON).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub stages: Vec<String>,
    pub window_ms: i64,
    pub metrics: Vec<MetricPlan>,
    /// Segment attributes whose slices count the unit (declared ones, then `plugin_version`).
    pub segments: Vec<String>,
    pub seen_ttl_seconds: u64,
}

impl Plan {
    pub fn of(experiment: &Experiment) -> Plan {
        let longest = hours_to_millis(experiment.longest_window_hours()).max(0);
        Plan {
            stages: experiment.journey().to_vec(),
            window_ms: hours_to_millis(experiment.conversion_window_hours()),
            metrics: experiment
                .metrics()
                .iter()
                .map(|metric| MetricPlan {
                    key: metric.key.clone(),
                    kind: metric.kind,
                    event: metric.event.clone(),
                    start_ms: hours_to_millis(metric.window_start_hours),
                    end_ms: hours_to_millis(metric.window_end_hours),
                    min_count: metric.min_count,
                })
                .collect(),
            segments: experiment.segment_attributes().map(str::to_owned).collect(),
            seen_ttl_seconds: (longest as u64).div_ceil(1000) + DEDUP_GRACE_SECONDS,
        }
    }
}

/// A metric's running state for one unit: `n` events (or 1 once answered / arrived) and `x`
/// the running value (total, last NPS score).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct MetricState {
    pub n: u64,
    pub x: f64,
}

/// Everything kept for one exposed unit.
#[derive(Debug, Clone, Default)]
pub(crate) struct UnitState {
    pub variant: usize,
    pub exposed_at: i64,
    pub stages: HashSet<String>,
    pub metrics: HashMap<String, MetricState>,
}

/// Which counter of a variant a delta moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Stage(String),
    Metric(String),
}

/// A change to one variant's moments: `count += n`, `sum += s`, `sum_squares += q`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delta {
    pub target: Target,
    pub n: u64,
    pub s: f64,
    pub q: f64,
}

/// Applies one event to an exposed unit. Returns whether it fell inside a window of any stage
/// or metric (the experiment "counted" it); deltas for the unit's variant are pushed.
pub(crate) fn count_event(
    plan: &Plan,
    unit: &mut UnitState,
    at: Timestamp,
    name: &str,
    value: Option<f64>,
    deltas: &mut Vec<Delta>,
) -> bool {
    let offset = at.as_millis().saturating_sub(unit.exposed_at);
    if offset < 0 {
        return false;
    }
    let seconds = at.seconds_since(Timestamp::from_millis(unit.exposed_at));
    let mut counted = false;
    for stage in plan.stages.iter().filter(|stage| *stage == name) {
        if offset < plan.window_ms {
            counted = true;
            if unit.stages.insert(stage.clone()) {
                deltas.push(Delta {
                    target: Target::Stage(stage.clone()),
                    n: 1,
                    s: seconds,
                    q: seconds * seconds,
                });
            }
        }
    }
    for metric in plan.metrics.iter().filter(|metric| metric.event == name) {
        if offset < metric.start_ms || offset >= metric.end_ms {
            continue;
        }
        let state = unit.metrics.entry(metric.key.clone()).or_default();
        let change = match (metric.kind, value) {
            (MetricKind::Conversion, _) => {
                state.n += 1;
                (state.n == u64::from(metric.min_count)).then_some((0, 1.0, 1.0))
            }
            (MetricKind::Count, _) => {
                let old = state.n as f64;
                state.n += 1;
                Some((0, 1.0, 2.0 * old + 1.0))
            }
            (MetricKind::Sum, Some(v)) => {
                let old = state.x;
                state.n += 1;
                state.x += v;
                Some((0, v, 2.0 * old * v + v * v))
            }
            (MetricKind::Nps, Some(answer)) => {
                let score = nps_score(answer);
                if state.n == 0 {
                    state.n = 1;
                    state.x = score;
                    Some((1, score, score * score))
                } else {
                    let old = state.x;
                    state.x = score;
                    Some((0, score - old, score * score - old * old))
                }
            }
            (MetricKind::Mean, Some(v)) => {
                if state.n == 0 {
                    state.n = 1;
                    state.x = v;
                    Some((1, v, v * v))
                } else {
                    let old = state.x / state.n as f64;
                    state.n += 1;
                    state.x += v;
                    let new = state.x / state.n as f64;
                    Some((0, new - old, new * new - old * old))
                }
            }
            (MetricKind::Duration, _) => {
                if state.n == 0 {
                    state.n = 1;
                    Some((1, seconds, seconds * seconds))
                } else {
                    Some((0, 0.0, 0.0))
                }
            }
            // A value metric's event without a value changes nothing.
            (MetricKind::Sum | MetricKind::Nps | MetricKind::Mean, None) => continue,
        };
        counted = true;
        if let Some((n, s, q)) = change
            && (n != 0 || s != 0.0 || q != 0.0)
        {
            deltas.push(Delta {
                target: Target::Metric(metric.key.clone()),
                n,
                s,
                q,
            });
        }
    }
    counted
}

/// Builds aggregates in the contract's order from per-variant counters. `units(v)` is the
/// variant's exposed units, `moments(v, target)` its stored moments (zero when absent) and
/// `hours(v)` its new exposures per hour.
pub(crate) fn build_aggregates(
    experiment: &Experiment,
    units: impl Fn(usize) -> u64,
    moments: impl Fn(usize, &Target) -> Moments,
    hours: impl Fn(usize) -> BTreeMap<i64, u64>,
) -> Aggregates {
    let variants = experiment
        .variants()
        .iter()
        .enumerate()
        .map(|(index, variant)| {
            let exposed = units(index);
            let stages = experiment
                .journey()
                .iter()
                .map(|stage| {
                    let seconds = moments(index, &Target::Stage(stage.clone()));
                    StageAggregates {
                        stage: stage.clone(),
                        reached: seconds.count,
                        seconds,
                    }
                })
                .collect();
            let metrics = experiment
                .metrics()
                .iter()
                .map(|metric| {
                    let mut stored = moments(index, &Target::Metric(metric.key.clone()));
                    if metric.kind.denominator_is_exposed_units() {
                        stored.count = exposed;
                    }
                    MetricAggregates {
                        metric: metric.key.clone(),
                        moments: stored,
                    }
                })
                .collect();
            VariantAggregates {
                key: variant.key.clone(),
                units: exposed,
                stages,
                metrics,
                exposures_by_hour: hours(index),
            }
        })
        .collect();
    Aggregates { variants }
}
