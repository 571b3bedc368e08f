//! An experiment at one touchpoint: its definition as written (`ExperimentSpec`, JSON or TOML)
//! and the validated form the rest of Touchstone works with (`Experiment`), which can only be
//! built through validation.

use crate::assignment::{self, BucketRange};
use crate::layer::LayerSpec;
use crate::metric::{Covariate, Direction, MetricKind, MetricRole, MetricSpec};
use crate::targeting::{self, Condition};
use crate::timestamp::Timestamp;
use crate::validation::ValidationErrors;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

mod covariate_rules;
mod phase;
mod running_change;
mod validate;
pub use covariate_rules::MAX_COVARIATE_ATTRIBUTES;
pub use phase::{MAX_PHASES, Phase, PhaseChange};
pub use running_change::RunningChange;
pub use validate::validate;

/// Lifecycle of an experiment. Only `running` experiments expose and count; a `shipped` one
/// serves its winning variant to every unit its targeting admits and records nothing.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Draft,
    Running,
    Stopped,
    Shipped,
}

/// What the server does when a guardrail metric of a running experiment is harmed with
/// confidence (its always-valid interval wholly on the harmful side of zero).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailAction {
    /// Warn in the log, count it and call the webhook; the experiment keeps running.
    Alert,
    /// Stop the experiment (status `stopped`), keeping the reason in the audit log.
    #[default]
    Stop,
    /// Ship control: every unit gets control's payload and nothing more is recorded.
    Rollback,
}

impl GuardrailAction {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Which test gives a comparison its verdict (`better` / `worse` / `inconclusive`).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analysis {
    /// The always-valid (sequential) test decides at every look: safe to read every day.
    #[default]
    Sequential,
    /// No verdict before the planned sample (`minimum_detectable_effect`, `power`) is in;
    /// then the fixed-horizon Welch test decides.
    Fixed,
}

/// The winner of a shipped experiment and when it shipped (results are frozen from then).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipped {
    pub variant: String,
    /// RFC 3339 on the wire.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub key: String,
    pub weight: f64,
    /// What the touchpoint renders for this variant.
    #[serde(default)]
    pub payload: Value,
}

fn default_traffic() -> f64 {
    1.0
}
fn default_window_hours() -> f64 {
    168.0
}
fn default_max_segment_values() -> u32 {
    20
}
fn default_alpha() -> f64 {
    0.05
}
fn default_sequential_tuning() -> f64 {
    10_000.0
}
fn default_mde() -> f64 {
    0.05
}
fn default_power() -> f64 {
    0.8
}

/// An experiment definition as a team writes it.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub touchpoint: String,
    /// Share of eligible units that enter the experiment, in [0, 1].
    #[serde(default = "default_traffic")]
    pub traffic: f64,
    pub variants: Vec<VariantSpec>,
    /// The variant every other is compared to (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// Ordered stage event names, e.g. `["add_to_cart", "begin_checkout", "purchase"]`.
    pub journey: Vec<String>,
    /// The event whose `value` is summed as revenue per exposed unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_event: Option<String>,
    /// The currency of every money value (`value` of events, revenue, CLV): three upper-case
    /// letters as in ISO 4217 (`EUR`, `USD`), shown beside each amount. `None`: amounts show
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Events count only this long after the unit's exposure.
    #[serde(default = "default_window_hours")]
    pub conversion_window_hours: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targeting: Vec<Condition>,
    #[serde(default)]
    pub status: Status,
    /// Hash seed (default: the key). Changing it reshuffles every unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Metrics beside the journey stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    /// Attributes of the assign request kept with the exposure to slice results by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Distinct values kept per segment attribute; later new values count as `(other)`, so
    /// counters stay bounded whatever the shop sends.
    #[serde(default = "default_max_segment_values")]
    pub max_segment_values: u32,
    /// Two-sided significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Expected total units of two compared arms; tunes the always-valid intervals.
    #[serde(default = "default_sequential_tuning")]
    pub sequential_tuning: f64,
    /// Relative minimum detectable effect the test is planned for (0.05 = 5%).
    #[serde(default = "default_mde")]
    pub minimum_detectable_effect: f64,
    #[serde(default = "default_power")]
    pub power: f64,
    /// Which test gives the verdict: `sequential` (default) or `fixed` (decision 017).
    #[serde(default)]
    pub analysis: Analysis,
    /// The range of a layer this experiment owns; units outside it take no part. Running
    /// experiments of one layer never overlap, so they never share a unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerSpec>,
    /// Keys of experiments that share this one's units (e.g. at another touchpoint): each
    /// unit's variant there at exposure — `(none)` when it is in none — is kept as the
    /// segment attribute `exp:<key>`, so results by that segment show whether this
    /// experiment's effect depends on the other's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interacts_with: Vec<String>,
    /// Set when (and only when) the status is `shipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped: Option<Shipped>,
    /// What a harmed guardrail metric triggers (default `stop`).
    #[serde(default, skip_serializing_if = "GuardrailAction::is_default")]
    pub guardrail_action: GuardrailAction,
    /// The current phase (default 1). Exposures, counters and results are kept per phase; a
    /// running experiment changes its weights, traffic or salt only by starting the next one
    /// (`POST /v1/experiments/{key}/phases`). Kept by the server: a `PUT` cannot change it.
    #[serde(
        default = "phase::first_phase",
        skip_serializing_if = "phase::is_first_phase"
    )]
    pub phase: u32,
    /// When the current phase started (absent in phase 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub phase_started_at: Option<Timestamp>,
    /// The phases before the current one, oldest first, each with the split it assigned with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    /// Journey stages that are guardrails too: a variant converting to one of them less
    /// than control, with confidence, triggers `guardrail_action` like a guardrail metric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrail_stages: Vec<String>,
    /// CUPED covariates of journey stages and built-in metrics (`revenue_per_unit`), by stage
    /// name or metric key; a declared metric names its own (`metrics[].covariate`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub covariates: BTreeMap<String, Covariate>,
}

/// Built-in segment attribute: the version of the touchpoint plugin that decided eligibility.
pub const PLUGIN_VERSION_SEGMENT: &str = "plugin_version";
/// Prefix of the segment attribute holding a unit's variant in an `interacts_with` experiment.
pub const INTERACTION_SEGMENT_PREFIX: &str = "exp:";
/// The slice of units that did not send a segment attribute.
pub const SEGMENT_NONE: &str = "(none)";
/// The slice of values past an attribute's `max_segment_values`.
pub const SEGMENT_OTHER: &str = "(other)";

/// Built-in metric derived from `value_event`: revenue per exposed unit.
pub const REVENUE_METRIC: &str = "revenue_per_unit";
/// Built-in metric derived from the last journey stage: seconds from exposure to conversion.
pub const TIME_TO_CONVERSION_METRIC: &str = "time_to_conversion";

/// A metric with every default filled in, as the store and the stats crate evaluate it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedMetric {
    pub key: String,
    pub kind: MetricKind,
    pub event: String,
    pub direction: Direction,
    pub role: MetricRole,
    pub window_start_hours: f64,
    pub window_end_hours: f64,
    pub min_count: u32,
    /// Derived from the journey rather than declared.
    pub built_in: bool,
    /// The CUPED covariate's attribute (`metrics[].covariate`, or `covariates` for a
    /// built-in metric).
    pub covariate: Option<String>,
}

/// A validated experiment. Invariants: keys are safe and unique, weights positive, control
/// exists, journey non-empty without duplicates, traffic and windows in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    spec: ExperimentSpec,
    weights: Vec<f64>,
    ranges: Vec<BucketRange>,
    control_index: usize,
    metrics: Vec<ResolvedMetric>,
    /// `exp:<key>` for each `interacts_with` key, in order.
    interaction_attributes: Vec<String>,
}

impl Experiment {
    /// Validates a definition, returning every problem with its field path.
    pub fn new(spec: ExperimentSpec) -> Result<Self, ValidationErrors> {
        let errors = validate(&spec);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self::derive(spec))
    }

    /// The derived fields of a spec that passed validation (or is a view of an earlier phase
    /// of one that did).
    fn derive(spec: ExperimentSpec) -> Self {
        let total: f64 = spec.variants.iter().map(|v| v.weight).sum();
        let weights: Vec<f64> = spec.variants.iter().map(|v| v.weight / total).collect();
        let ranges = assignment::bucket_ranges(weights.len(), spec.traffic, &weights);
        let control_index = match &spec.control {
            Some(control) => spec
                .variants
                .iter()
                .position(|v| &v.key == control)
                .unwrap_or(0),
            None => 0,
        };
        let metrics = resolve_metrics(&spec);
        let interaction_attributes = spec
            .interacts_with
            .iter()
            .map(|key| format!("{INTERACTION_SEGMENT_PREFIX}{key}"))
            .collect();
        Self {
            spec,
            weights,
            ranges,
            control_index,
            metrics,
            interaction_attributes,
        }
    }

    /// Every attribute results can be sliced by: the declared segments, then the built-in
    /// `plugin_version` (kept only for units whose eligibility a plugin decided), then
    /// `exp:<key>` for each experiment this one `interacts_with`.
    pub fn segment_attributes(&self) -> impl Iterator<Item = &str> {
        self.spec
            .segments
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(PLUGIN_VERSION_SEGMENT))
            .chain(self.interaction_attributes.iter().map(String::as_str))
    }

    /// `(other experiment's key, segment attribute)` for each `interacts_with` experiment.
    pub fn interactions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spec
            .interacts_with
            .iter()
            .map(String::as_str)
            .zip(self.interaction_attributes.iter().map(String::as_str))
    }

    pub fn spec(&self) -> &ExperimentSpec {
        &self.spec
    }

    pub fn key(&self) -> &str {
        &self.spec.key
    }

    pub fn touchpoint(&self) -> &str {
        &self.spec.touchpoint
    }

    pub fn status(&self) -> Status {
        self.spec.status
    }

    pub fn is_running(&self) -> bool {
        self.spec.status == Status::Running
    }

    pub fn salt(&self) -> &str {
        self.spec.salt.as_deref().unwrap_or(&self.spec.key)
    }

    pub fn variants(&self) -> &[VariantSpec] {
        &self.spec.variants
    }

    /// Weights normalized to sum to 1, in variant order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn control_index(&self) -> usize {
        self.control_index
    }

    pub fn control(&self) -> &VariantSpec {
        &self.spec.variants[self.control_index]
    }

    pub fn variant_index(&self, key: &str) -> Option<usize> {
        self.spec.variants.iter().position(|v| v.key == key)
    }

    pub fn journey(&self) -> &[String] {
        &self.spec.journey
    }

    pub fn conversion_window_hours(&self) -> f64 {
        self.spec.conversion_window_hours
    }

    /// Declared metrics followed by the built-in ones, in a stable order.
    pub fn metrics(&self) -> &[ResolvedMetric] {
        &self.metrics
    }

    /// Whether an event of this name can change any stage or metric of this experiment.
    pub fn tracks_event(&self, name: &str) -> bool {
        self.spec.journey.iter().any(|stage| stage == name)
            || self.metrics.iter().any(|metric| metric.event == name)
    }

    /// How long after exposure any event can still count: the longest window.
    pub fn longest_window_hours(&self) -> f64 {
        self.metrics
            .iter()
            .map(|metric| metric.window_end_hours)
            .fold(self.spec.conversion_window_hours, f64::max)
    }

    pub fn targets(&self, attributes: &Map<String, Value>) -> bool {
        targeting::matches_all(&self.spec.targeting, attributes)
    }

    pub fn guardrail_action(&self) -> GuardrailAction {
        self.spec.guardrail_action
    }

    /// The CUPED covariate attribute of a journey stage (`covariates`), if any.
    pub fn stage_covariate(&self, stage: &str) -> Option<&str> {
        self.spec
            .covariates
            .get(stage)
            .map(|c| c.attribute.as_str())
    }

    /// Every attribute some stage or metric adjusts for, each once, sorted: what the store
    /// keeps of a unit at its exposure.
    pub fn covariate_attributes(&self) -> Vec<&str> {
        let stages = self
            .spec
            .journey
            .iter()
            .filter_map(|stage| self.stage_covariate(stage));
        let metrics = self.metrics.iter().filter_map(|m| m.covariate.as_deref());
        let mut all: Vec<&str> = stages.chain(metrics).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Whether the journey stage is marked as a guardrail (`guardrail_stages`).
    pub fn is_guardrail_stage(&self, stage: &str) -> bool {
        self.spec.guardrail_stages.iter().any(|s| s == stage)
    }

    pub fn layer(&self) -> Option<&LayerSpec> {
        self.spec.layer.as_ref()
    }

    /// The part of the hash space this experiment and `other` both own in one layer, if any:
    /// while both run, the units there would be in both.
    pub fn layer_overlap(&self, other: &Experiment) -> Option<[f64; 2]> {
        self.layer()?.overlap(other.layer()?)
    }

    /// The variant index for a unit, or `None` when the unit is outside the experiment's
    /// layer range or its bucket falls outside the traffic. Pure and deterministic: same
    /// salt and unit, same answer, on every server (and in GrowthBook's SDKs, which check the
    /// namespace before hashing for the variant the same way).
    pub fn assign(&self, unit_id: &str) -> Option<usize> {
        if let Some(layer) = &self.spec.layer
            && !layer.contains(unit_id)
        {
            return None;
        }
        let bucket = assignment::hash_v2(self.salt(), unit_id);
        assignment::choose_variant(bucket, &self.ranges)
    }

    /// The same experiment with another status than `shipped` (use [`Self::shipped_with`]),
    /// forgetting any shipped variant.
    pub fn with_status(&self, status: Status) -> Experiment {
        let mut next = self.clone();
        next.spec.status = status;
        if status != Status::Shipped {
            next.spec.shipped = None;
        }
        next
    }

    /// The same experiment shipped with variant `index` at `at`.
    pub fn shipped_with(&self, index: usize, at: Timestamp) -> Option<Experiment> {
        let variant = self.spec.variants.get(index)?;
        let mut next = self.clone();
        next.spec.status = Status::Shipped;
        next.spec.shipped = Some(Shipped {
            variant: variant.key.clone(),
            at,
        });
        Some(next)
    }

    /// The same experiment under another key, which validation would refuse: a holdout's
    /// synthetic experiment is `holdout:KEY`, a namespace experiment keys cannot enter.
    /// Its salt is set explicitly, so the key change moves no unit.
    pub(crate) fn renamed(mut self, key: String) -> Experiment {
        self.spec.key = key;
        self
    }

    /// The index of the shipped variant, when shipped.
    pub fn shipped_variant(&self) -> Option<usize> {
        let shipped = self.spec.shipped.as_ref()?;
        self.variant_index(&shipped.variant)
    }
}

fn resolve_metrics(spec: &ExperimentSpec) -> Vec<ResolvedMetric> {
    let window = spec.conversion_window_hours;
    let mut metrics: Vec<ResolvedMetric> = spec
        .metrics
        .iter()
        .map(|metric| ResolvedMetric {
            key: metric.key.clone(),
            kind: metric.kind,
            event: metric.event.clone(),
            direction: metric.direction,
            role: metric.role,
            window_start_hours: metric.window_start_hours,
            window_end_hours: metric.window_end_hours.unwrap_or(window),
            min_count: metric.min_count(),
            built_in: false,
            covariate: metric.covariate.as_ref().map(|c| c.attribute.clone()),
        })
        .collect();
    if let Some(value_event) = &spec.value_event {
        metrics.push(ResolvedMetric {
            key: REVENUE_METRIC.into(),
            kind: MetricKind::Sum,
            event: value_event.clone(),
            direction: Direction::Increase,
            role: MetricRole::Secondary,
            window_start_hours: 0.0,
            window_end_hours: window,
            min_count: 1,
            built_in: true,
            covariate: spec
                .covariates
                .get(REVENUE_METRIC)
                .map(|c| c.attribute.clone()),
        });
    }
    if let Some(last_stage) = spec.journey.last() {
        metrics.push(ResolvedMetric {
            key: TIME_TO_CONVERSION_METRIC.into(),
            kind: MetricKind::Duration,
            event: last_stage.clone(),
            direction: Direction::Decrease,
            role: MetricRole::Secondary,
            window_start_hours: 0.0,
            window_end_hours: window,
            min_count: 1,
            built_in: true,
            covariate: spec
                .covariates
                .get(TIME_TO_CONVERSION_METRIC)
                .map(|c| c.attribute.clone()),
        });
    }
    metrics
}
