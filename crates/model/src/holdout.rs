//! Holdouts: what did the testing program earn? A holdout keeps a share of units away from
//! every experiment (and every shipped winner) at the touchpoints it covers, and compares them
//! with everyone else there on its own journey and metrics.
//!
//! A holdout is analysed as a synthetic two-variant [`Experiment`] — control `holdout` with
//! weight `share`, treatment `program` with weight `1 - share`, traffic 1, salt = the holdout
//! key — so bucket ranges, exposures, event counting and the statistics are the experiment's
//! own (decision 012). A unit is held out exactly when GrowthBook's v2 hash with seed = the
//! holdout key is below `share` (their SDK puts the same units in variation 0 of that
//! experiment; `tests/vectors/growthbook_holdouts.json`).

use crate::experiment::{ExperimentSpec, Status, VariantSpec};
use crate::metric::MetricSpec;
use crate::validation::{ValidationErrors, check_name};
use crate::{Experiment, assignment};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Prefix of a holdout's synthetic experiment key (`holdout:KEY`): `:` is outside the
/// alphabet of experiment keys (`validation::check_key`), so its store keys can never be an
/// experiment's.
pub const HOLDOUT_KEY_PREFIX: &str = "holdout:";
/// The synthetic experiment's control: the held-out units.
pub const HOLDOUT_VARIANT: &str = "holdout";
/// The synthetic experiment's treatment: everyone else in scope, exposed to the program.
pub const PROGRAM_VARIANT: &str = "program";
/// A touchpoint entry covering every touchpoint.
pub const ALL_TOUCHPOINTS: &str = "*";
/// The largest share a holdout may keep: beyond half, the "program" is the minority.
pub const MAX_SHARE: f64 = 0.5;

/// Only `running` holdouts keep units out and count; a `stopped` one keeps its results.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutStatus {
    #[default]
    Running,
    Stopped,
}

fn default_window_hours() -> f64 {
    168.0
}

fn default_max_segment_values() -> u32 {
    20
}

/// A holdout as a team writes it.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutSpec {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Share of units held out, in (0, 0.5].
    pub share: f64,
    /// Touchpoints whose experiments the held-out units never see; `["*"]`: all of them.
    pub touchpoints: Vec<String>,
    /// Ordered stage event names the program is judged on.
    pub journey: Vec<String>,
    /// Metrics beside the journey stages, as in an experiment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    /// The event whose `value` is summed as revenue per exposed unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_event: Option<String>,
    /// Events count only this long after the unit's first exposure to the holdout.
    #[serde(default = "default_window_hours")]
    pub conversion_window_hours: f64,
    /// Attributes of the assign request kept with the exposure to slice results by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    #[serde(default = "default_max_segment_values")]
    pub max_segment_values: u32,
    #[serde(default)]
    pub status: HoldoutStatus,
    /// CUPED covariates of journey stages and the built-in metrics, as an experiment's
    /// `covariates` (a declared metric names its own, `metrics[].covariate`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub covariates: std::collections::BTreeMap<String, crate::metric::Covariate>,
}

/// A validated holdout and its synthetic experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    spec: HoldoutSpec,
    experiment: Experiment,
}

/// The key of a holdout's synthetic experiment, in the store and in its results.
pub fn experiment_key(holdout_key: &str) -> String {
    format!("{HOLDOUT_KEY_PREFIX}{holdout_key}")
}

impl Holdout {
    /// Validates a holdout, returning every problem with its field path. Journey, metrics,
    /// value event, window and segments follow the experiment's rules, reported under the
    /// same field names.
    pub fn new(spec: HoldoutSpec) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let key_problem = check_name(&spec.key);
        if let Some(problem) = key_problem {
            errors.push("key", "invalid", problem);
        }
        let key_ok = key_problem.is_none();
        let share_ok = spec.share.is_finite() && spec.share > 0.0 && spec.share <= MAX_SHARE;
        if !share_ok {
            errors.push(
                "share",
                "out_of_range",
                "must be above 0 and at most 0.5, e.g. 0.05 to hold out 5% of units",
            );
        }
        check_touchpoints(&spec.touchpoints, &mut errors);
        // Fields this function checked are given valid stand-ins, so the experiment's rules
        // report only the fields a holdout shares with an experiment.
        let synthetic = synthetic_spec(
            &spec,
            if key_ok { &spec.key } else { "holdout" },
            if share_ok { spec.share } else { MAX_SHARE },
        );
        match Experiment::new(synthetic) {
            Ok(experiment) if errors.is_empty() => {
                let experiment = experiment.renamed(experiment_key(&spec.key));
                Ok(Holdout { spec, experiment })
            }
            Ok(_) => Err(errors),
            Err(more) => {
                errors.0.extend(more.0);
                Err(errors)
            }
        }
    }

    pub fn spec(&self) -> &HoldoutSpec {
        &self.spec
    }

    pub fn key(&self) -> &str {
        &self.spec.key
    }

    pub fn share(&self) -> f64 {
        self.spec.share
    }

    pub fn status(&self) -> HoldoutStatus {
        self.spec.status
    }

    pub fn is_running(&self) -> bool {
        self.spec.status == HoldoutStatus::Running
    }

    /// The synthetic experiment (key `holdout:KEY`) its exposures and events are counted in.
    pub fn experiment(&self) -> &Experiment {
        &self.experiment
    }

    /// Whether the holdout's scope includes experiments at `touchpoint`.
    pub fn covers(&self, touchpoint: &str) -> bool {
        self.spec
            .touchpoints
            .iter()
            .any(|covered| covered == ALL_TOUCHPOINTS || covered == touchpoint)
    }

    /// Whether the unit is held out: GrowthBook's v2 hash with seed = the key below `share`.
    /// The same answer as the synthetic experiment's variant 0 (a test checks every bucket).
    pub fn holds_out(&self, unit_id: &str) -> bool {
        assignment::hash_v2(&self.spec.key, unit_id) < self.spec.share
    }

    /// The same holdout with another status.
    pub fn with_status(&self, status: HoldoutStatus) -> Holdout {
        let mut next = self.clone();
        next.spec.status = status;
        next.experiment = self.experiment.with_status(experiment_status(status));
        next
    }

    /// Why `next` may not replace `self`: a new share would move units between the held-out
    /// group and the program while the exposures keep their first group, mixing the two.
    pub fn reshuffle_conflict(&self, next: &Holdout) -> Option<String> {
        (self.spec.share != next.spec.share).then(|| {
            format!(
                "the share of holdout `{}` cannot change ({} → {}): it would move exposed units \
                 between the held-out group and the program; define a new holdout instead",
                self.spec.key, self.spec.share, next.spec.share
            )
        })
    }
}

fn experiment_status(status: HoldoutStatus) -> Status {
    match status {
        HoldoutStatus::Running => Status::Running,
        HoldoutStatus::Stopped => Status::Stopped,
    }
}

fn check_touchpoints(touchpoints: &[String], errors: &mut ValidationErrors) {
    if touchpoints.is_empty() {
        errors.push(
            "touchpoints",
            "required",
            "needs at least one touchpoint, or [\"*\"] for every touchpoint",
        );
    }
    if touchpoints.len() > 100 {
        errors.push("touchpoints", "too_many", "at most 100 touchpoints");
    }
    let all = touchpoints.iter().any(|t| t == ALL_TOUCHPOINTS);
    if all && touchpoints.len() > 1 {
        errors.push(
            "touchpoints",
            "invalid",
            "`*` already covers every touchpoint: list no other with it",
        );
    }
    let mut seen = HashSet::new();
    for (index, touchpoint) in touchpoints.iter().enumerate() {
        // The rule of an experiment's `touchpoint`.
        if touchpoint.trim().is_empty() || touchpoint.len() > 128 {
            errors.push(
                format!("touchpoints[{index}]"),
                "invalid",
                "must be 1 to 128 characters",
            );
        } else if !seen.insert(touchpoint.as_str()) {
            errors.push(
                format!("touchpoints[{index}]"),
                "duplicate",
                format!("`{touchpoint}` appears twice"),
            );
        }
    }
}

/// The synthetic experiment: `holdout` (control, weight `share`) against `program`.
/// `share + (1 - share)` is exactly 1 in binary floating point for any share in (0, 0.5]
/// (`1 - share` is within half an ulp of the true value, and the sum rounds back to 1), so
/// the normalized weights are the given ones and control's range is exactly `[0, share)`.
fn synthetic_spec(spec: &HoldoutSpec, key: &str, share: f64) -> ExperimentSpec {
    let variant = |key: &str, weight: f64| VariantSpec {
        key: key.into(),
        weight,
        payload: Value::Null,
    };
    ExperimentSpec {
        covariates: spec.covariates.clone(),
        key: key.into(),
        description: spec.description.clone(),
        touchpoint: spec
            .touchpoints
            .first()
            .filter(|first| !first.trim().is_empty() && first.len() <= 128)
            .cloned()
            .unwrap_or_else(|| ALL_TOUCHPOINTS.into()),
        traffic: 1.0,
        variants: vec![
            variant(HOLDOUT_VARIANT, share),
            variant(PROGRAM_VARIANT, 1.0 - share),
        ],
        control: Some(HOLDOUT_VARIANT.into()),
        journey: spec.journey.clone(),
        value_event: spec.value_event.clone(),
        currency: None,
        conversion_window_hours: spec.conversion_window_hours,
        targeting: Vec::new(),
        status: experiment_status(spec.status),
        salt: Some(key.into()),
        metrics: spec.metrics.clone(),
        segments: spec.segments.clone(),
        max_segment_values: spec.max_segment_values,
        alpha: 0.05,
        sequential_tuning: 10_000.0,
        minimum_detectable_effect: 0.05,
        power: 0.8,
        analysis: Default::default(),
        layer: None,
        interacts_with: Vec::new(),
        shipped: None,
        guardrail_action: Default::default(),
        // The holdout is a measurement, never stopped by a guardrail.
        guardrail_stages: Vec::new(),
        // A holdout has no phases: its share cannot change (decision 012).
        phase: 1,
        phase_started_at: None,
        phases: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::assignment::{bucket_ranges, choose_variant};

    /// Control's range is `[0, share)` and program's `[share, 1)`, through the same
    /// normalization and `getBucketRanges` as every experiment.
    fn holds_out_by_ranges(share: f64, bucket: f64) -> bool {
        let total = share + (1.0 - share);
        assert_eq!(total, 1.0, "share {share}");
        let ranges = bucket_ranges(2, 1.0, &[share / total, (1.0 - share) / total]);
        let variant = choose_variant(bucket, &ranges);
        assert!(
            variant.is_some(),
            "share {share}, bucket {bucket}: in no range"
        );
        variant == Some(0)
    }

    #[test]
    fn the_synthetic_split_is_exactly_bucket_below_share() {
        // Every share the v2 hash can tell apart, at the buckets around its boundary.
        for n in 1..=5000 {
            let share = f64::from(n) / 10_000.0;
            for step in (n - 3).max(0)..(n + 3) {
                let bucket = f64::from(step) / 10_000.0;
                assert_eq!(
                    holds_out_by_ranges(share, bucket),
                    bucket < share,
                    "{share} {bucket}"
                );
            }
        }
        // Odd shares, at every bucket.
        for share in [0.05, 0.1234, 1.0 / 3.0, 0.1 + 0.2, 1e-9, 0.499_999_999, 0.5] {
            for step in 0..10_000 {
                let bucket = f64::from(step) / 10_000.0;
                assert_eq!(
                    holds_out_by_ranges(share, bucket),
                    bucket < share,
                    "{share} {bucket}"
                );
            }
        }
    }
}
