//! How one event changes one exposed unit's running state and its variant's moments — the
//! semantics both stores keep. `MemoryStore` runs this code; `record_events.lua` is its line
//! by line twin for Redis, and the conformance suite pins the two to the same numbers. Both
//! execute each metric kind's `CountingRule` (model) from the compiled [`Plan`]; neither knows
//! a kind by name.

use crate::Exposure;
use crate::redis::keys::attribute_in_key;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use touchstone_model::metric::CountingRule;
use touchstone_model::{
    Aggregates, CovariateSums, Experiment, MetricAggregates, Moments, StageAggregates, Timestamp,
    VariantAggregates, is_bounded_number,
};

/// Seen event ids are remembered this long after an experiment's longest window closes, so a
/// client retrying a batch a week late still cannot double-count.
pub(crate) const DEDUP_GRACE_SECONDS: u64 = 7 * 24 * 3600;

/// Whole milliseconds in `hours`, rounded the way `Timestamp::plus_hours` rounds.
pub(crate) fn hours_to_millis(hours: f64) -> i64 {
    Timestamp::from_millis(0).plus_hours(hours).as_millis()
}

/// One metric with its window in milliseconds from exposure and its kind's counting rule,
/// spelled out as flags: the Lua script and [`count_event`] read these, never the kind's name,
/// so a new kind is a new `MetricKind::counting_rule` and nothing here.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MetricPlan {
    pub key: String,
    pub event: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub min_count: u32,
    /// Its CUPED covariate: 1 + its index in [`Plan::covariates`], 0 for none (1-based for
    /// Lua, whose JSON decoder has no clean null inside arrays).
    pub covariate: usize,
    #[serde(flatten)]
    pub rule: RuleFlags,
}

/// [`CountingRule`] as the Lua script reads it: its fields plus the derived flags.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleFlags {
    #[serde(flatten)]
    pub rule: CountingRule,
    pub needs_value: bool,
    pub once_per_unit: bool,
    pub keeps_value: bool,
}

/// What counting needs to know of an experiment (also sent to the Lua script as JSON).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub stages: Vec<String>,
    pub window_ms: i64,
    pub metrics: Vec<MetricPlan>,
    /// Segment attributes whose slices count the unit (declared ones, then `plugin_version`,
    /// then interactions): their names, for the unit hash's `g:` fields…
    pub segments: Vec<String>,
    /// …and as they appear inside slice keys (`keys::attribute_in_key`).
    pub segment_keys: Vec<String>,
    pub seen_ttl_seconds: u64,
    /// The event names a metric counts every time (`once_per_unit` false): only their events
    /// need a per-experiment seen-id key, and only theirs get one in the events script's KEYS
    /// (only on a Cluster: on a single Redis the call's own marker guards every event).
    pub seen_events: Vec<String>,
    /// Every covariate attribute, sorted (`Experiment::covariate_attributes`): the unit hash
    /// keeps x as `c:<name>` (written at exposure, read by the events script).
    pub covariates: Vec<String>,
    /// Per journey stage, as [`MetricPlan::covariate`].
    pub stage_covariates: Vec<usize>,
}

/// 1 + the index of `attribute` in `covariates`, 0 for none.
fn covariate_number(covariates: &[String], attribute: Option<&str>) -> usize {
    attribute
        .and_then(|attribute| covariates.iter().position(|c| c == attribute))
        .map_or(0, |index| index + 1)
}

impl Plan {
    /// Whether an event of this name needs a seen-id key (see [`Plan::seen_events`]).
    pub fn needs_seen_key(&self, name: &str) -> bool {
        self.seen_events.iter().any(|event| event == name)
    }

    pub fn of(experiment: &Experiment) -> Plan {
        let longest = hours_to_millis(experiment.longest_window_hours()).max(0);
        let segments: Vec<String> = experiment.segment_attributes().map(str::to_owned).collect();
        let covariates: Vec<String> = experiment
            .covariate_attributes()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Plan {
            stage_covariates: experiment
                .journey()
                .iter()
                .map(|stage| covariate_number(&covariates, experiment.stage_covariate(stage)))
                .collect(),
            stages: experiment.journey().to_vec(),
            window_ms: hours_to_millis(experiment.conversion_window_hours()),
            metrics: experiment
                .metrics()
                .iter()
                .map(|metric| {
                    let rule = metric.kind.counting_rule();
                    MetricPlan {
                        key: metric.key.clone(),
                        event: metric.event.clone(),
                        start_ms: hours_to_millis(metric.window_start_hours),
                        end_ms: hours_to_millis(metric.window_end_hours),
                        min_count: metric.min_count,
                        covariate: covariate_number(&covariates, metric.covariate.as_deref()),
                        rule: RuleFlags {
                            rule,
                            needs_value: rule.needs_value(),
                            once_per_unit: rule.once_per_unit(),
                            keeps_value: rule.keeps_value(),
                        },
                    }
                })
                .collect(),
            segment_keys: segments
                .iter()
                .map(|name| attribute_in_key(name).into_owned())
                .collect(),
            segments,
            seen_ttl_seconds: (longest as u64).div_ceil(1000) + DEDUP_GRACE_SECONDS,
            seen_events: experiment
                .metrics()
                .iter()
                .filter(|metric| !metric.kind.counting_rule().once_per_unit())
                .map(|metric| metric.event.clone())
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect(),
            covariates,
        }
    }
}

/// An experiment compiled for counting: built once when its definition loads (the server's
/// catalog keeps one per counted experiment), so recording events plans and encodes nothing
/// per request.
#[derive(Debug)]
pub struct CountingPlan {
    experiment: Arc<Experiment>,
    pub(crate) plan: Plan,
    /// The plan as JSON for `record_events.lua`; `None` only if encoding failed (reported as
    /// `StoreError::Corrupt` when used).
    pub(crate) encoded: Option<String>,
}

impl CountingPlan {
    pub fn compile(experiment: Arc<Experiment>) -> CountingPlan {
        let plan = Plan::of(&experiment);
        let encoded = serde_json::to_string(&plan).ok();
        CountingPlan {
            experiment,
            plan,
            encoded,
        }
    }

    pub fn experiment(&self) -> &Arc<Experiment> {
        &self.experiment
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
    /// Covariate x per attribute, taken at exposure; only the non-zero ones (missing is 0).
    pub covariates: Vec<(String, f64)>,
}

impl UnitState {
    /// The unit's x for covariate number `number` of `plan` (see [`MetricPlan::covariate`]).
    fn covariate(&self, plan: &Plan, number: usize) -> f64 {
        let Some(attribute) = number.checked_sub(1).and_then(|i| plan.covariates.get(i)) else {
            return 0.0;
        };
        self.covariates
            .iter()
            .find(|(name, _)| name == attribute)
            .map_or(0.0, |(_, x)| *x)
    }
}

/// Each covariate attribute of `experiment` with the x `exposure` gives it: `None` (x = 0,
/// counted as missing) when the exposure has no bounded number for it.
pub(crate) fn exposure_covariates<'e>(
    experiment: &'e Experiment,
    exposure: &Exposure,
) -> Vec<(&'e str, Option<f64>)> {
    experiment
        .covariate_attributes()
        .into_iter()
        .map(|attribute| {
            let x = exposure
                .covariates
                .get(attribute)
                .copied()
                .filter(|x| is_bounded_number(*x));
            (attribute, x)
        })
        .collect()
}

/// Which counter of a variant a delta moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Stage(String),
    Metric(String),
}

/// A change to one variant's moments: `count += n`, `sum += s`, `sum_squares += q`, and,
/// for a target with a covariate, its sum of products `+= p` (= x·s: the unit's value moved by
/// s, so x·y moves by x·s).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delta {
    pub target: Target,
    pub n: u64,
    pub s: f64,
    pub q: f64,
    pub p: f64,
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
    for (index, stage) in plan.stages.iter().enumerate() {
        if stage != name {
            continue;
        }
        if offset < plan.window_ms {
            counted = true;
            if unit.stages.insert(stage.clone()) {
                // The stage's outcome y (reached) moved from 0 to 1: x·y moves by x.
                let number = plan.stage_covariates.get(index).copied().unwrap_or(0);
                deltas.push(Delta {
                    target: Target::Stage(stage.clone()),
                    n: 1,
                    s: seconds,
                    q: seconds * seconds,
                    p: unit.covariate(plan, number),
                });
            }
        }
    }
    for metric in plan.metrics.iter().filter(|metric| metric.event == name) {
        if offset < metric.start_ms || offset >= metric.end_ms {
            continue;
        }
        let rule = &metric.rule.rule;
        // A value metric's event without a value changes nothing.
        let Some(u) = rule.contribution(value, seconds) else {
            continue;
        };
        counted = true;
        let state = unit.metrics.entry(metric.key.clone()).or_default();
        let Some((n, x)) = rule.advance(state.n, state.x, u) else {
            continue;
        };
        let before = rule.unit_value(state.n, state.x, metric.min_count);
        let after = rule.unit_value(n, x, metric.min_count);
        let newly_sent = rule.counts_senders && state.n == 0;
        (state.n, state.x) = (n, if rule.keeps_value() { x } else { 0.0 });
        let s = after - before;
        let delta = Delta {
            target: Target::Metric(metric.key.clone()),
            n: u64::from(newly_sent),
            s,
            q: s * (after + before),
            p: if metric.covariate == 0 {
                0.0
            } else {
                unit.covariate(plan, metric.covariate) * s
            },
        };
        if delta.n != 0 || delta.s != 0.0 || delta.q != 0.0 {
            deltas.push(delta);
        }
    }
    counted
}

/// What the store counts of one covariate attribute per variant, at exposure: the units whose
/// x was a number, Σx and Σx². Missing is counted as what is left of the exposed units, so a
/// unit exposed before the attribute was declared is missing (x = 0) by construction, never a
/// unit outside the sums.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CovariateTally {
    pub taken: u64,
    pub sum: f64,
    pub sum_squares: f64,
}

/// One variant-keyed set of counters (an experiment phase's, or one slice's), as either store
/// reads it back; absent counters are zero.
pub(crate) trait Counters {
    /// The variant's exposed units.
    fn units(&self, variant: usize) -> u64;
    /// The variant's moments of one stage or metric.
    fn moments(&self, variant: usize, target: &Target) -> Moments;
    /// The variant's Σxy of one stage or metric (kept only where it declares a covariate).
    fn products(&self, variant: usize, target: &Target) -> f64;
    /// The variant's units with a value of one covariate attribute, and Σx, Σx² over them.
    fn covariate(&self, variant: usize, attribute: &str) -> CovariateTally;
    /// The variant's new exposures per hour.
    fn hours(&self, variant: usize) -> BTreeMap<i64, u64>;
}

/// Builds aggregates in the contract's order from per-variant counters: `covariate` is set
/// exactly on the stages and metrics that declare one.
pub(crate) fn build_aggregates(experiment: &Experiment, counters: &impl Counters) -> Aggregates {
    let covariate_of = |index: usize, attribute: Option<&str>, target: &Target| {
        attribute.map(|attribute| {
            let tally = counters.covariate(index, attribute);
            CovariateSums {
                missing: counters.units(index).saturating_sub(tally.taken),
                sum: tally.sum,
                sum_squares: tally.sum_squares,
                sum_of_products: counters.products(index, target),
            }
        })
    };
    let variants = experiment
        .variants()
        .iter()
        .enumerate()
        .map(|(index, variant)| {
            let exposed = counters.units(index);
            let stages = experiment
                .journey()
                .iter()
                .map(|stage| {
                    let target = Target::Stage(stage.clone());
                    let seconds = counters.moments(index, &target);
                    StageAggregates {
                        covariate: covariate_of(index, experiment.stage_covariate(stage), &target),
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
                    let target = Target::Metric(metric.key.clone());
                    let mut stored = counters.moments(index, &target);
                    if metric.kind.denominator_is_exposed_units() {
                        stored.count = exposed;
                    }
                    MetricAggregates {
                        covariate: covariate_of(index, metric.covariate.as_deref(), &target),
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
                exposures_by_hour: counters.hours(index),
            }
        })
        .collect();
    Aggregates { variants }
}
