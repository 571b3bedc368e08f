//! The results object behind `GET /v1/experiments/{key}/results` and `touchstone analyze`.
//! Field names of issue 2 are kept; later issues add fields, never rename them. Every number
//! that can be undefined is an `Option` (JSON `null`) and a `warnings` entry says why.

use super::segments::SegmentResults;
use crate::correction::Correction;
use crate::sample::Sample;
use serde::{Deserialize, Serialize};
use touchstone_model::{Analysis, Direction, MetricKind, MetricRole};

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The experiment key (`null` offline when the input names none).
    pub experiment: Option<String>,
    pub control: String,
    pub alpha: f64,
    pub correction: Correction,
    /// M of the always-valid intervals.
    pub sequential_tuning: f64,
    /// Which test gives every comparison its verdict: `sequential` (the always-valid test, at
    /// every look) or `fixed` (nothing before the planned sample, then Welch's test).
    #[serde(default)]
    pub analysis: Analysis,
    /// How much of the planned sample is in (the power panel's headline numbers).
    #[serde(default)]
    pub sample: SampleProgress,
    pub variants: Vec<VariantResult>,
    /// In journey order.
    pub stages: Vec<StageResult>,
    pub metrics: Vec<MetricResult>,
    pub srm: SrmResult,
    pub power: PowerResult,
    /// Plain-language sentences, one per stage and metric comparison (and SRM when flagged).
    pub summary: Vec<String>,
    /// Why a number is `null` or reads as it does, each naming its stage or metric and
    /// comparison: no units or fewer than two, zero variance, a control mean ≤ 0 (relative
    /// effect undefined), a relative interval that would be unbounded or of zero width, a
    /// chance to be best that is undefined, a stage reached by more units than were exposed
    /// (capped), a sample-ratio check that cannot run.
    pub warnings: Vec<String>,
    /// Results by segment attribute: filled by `touchstone analyze` when its input has
    /// `segments`; the server serves them on their own route. Absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // A slice's results are a `Results` again: the schema stops here instead of looping.
    #[cfg_attr(feature = "utoipa", schema(no_recursion))]
    pub segments: Vec<SegmentResults>,
    /// The built-in plugin-health guardrail, per variant: plugin calls made for it and the
    /// share that fell back. Filled by the server; absent when no plugin was called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugin_health: Vec<PluginHealthVariant>,
}

/// Plugin calls of one variant and, for a non-control variant, the always-valid comparison of
/// its fallback share with control's.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginHealthVariant {
    pub key: String,
    pub calls: u64,
    pub fallbacks: u64,
    /// fallbacks / calls.
    pub fallback_share: Option<f64>,
    /// Variant − control fallback share, with the always-valid interval (Agresti–Caffo
    /// adjusted shares); `null` for control or before both arms have calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_control: Option<FallbackComparison>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackComparison {
    /// Variant − control fallback share, unadjusted.
    pub estimate: f64,
    pub sequential: SequentialResult,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    pub key: String,
    /// Configured weight, normalized to sum to 1.
    pub weight: f64,
    /// Exposed units.
    pub units: u64,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    pub stage: String,
    /// Marked in `guardrail_stages`: a variant converting less than control with confidence
    /// triggers the experiment's `guardrail_action`. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guardrail: bool,
    pub variants: Vec<StageVariant>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageVariant {
    pub key: String,
    pub units: u64,
    pub reached: u64,
    /// reached / units: from exposure, randomized.
    pub rate: Option<f64>,
    /// reached / reached at the previous stage (the rate itself at the first stage):
    /// description only, not a randomized comparison.
    pub step_rate: Option<f64>,
    /// 1 − step_rate.
    pub drop_off: Option<f64>,
    /// With three or more variants: the chance that this arm (control included) has the best
    /// rate or mean of all, read with the metric's direction (Beta posteriors for rates and
    /// conversions, normal ones for other metrics); the arms' chances sum to 1. Absent with two
    /// arms, where the variant's is its `chance_to_beat_control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance_to_be_best: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_control: Option<Comparison>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub metric: String,
    /// `null` offline, where the input gives moments without a kind.
    #[serde(default)]
    pub kind: Option<MetricKind>,
    pub direction: Direction,
    pub role: MetricRole,
    /// Whether every exposed unit is an observation (conversion, sum, count): only then does
    /// randomization protect the comparison.
    pub randomized: bool,
    pub variants: Vec<MetricVariant>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVariant {
    pub key: String,
    /// The metric's denominator (exposed or responding units).
    pub units: u64,
    pub mean: Option<f64>,
    /// Exposed units whose whole window has passed (so a 90-day CLV says how far it has
    /// filled in); `null` offline, where exposure times are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mature_units: Option<u64>,
    /// With three or more variants: the chance that this arm (control included) has the best
    /// rate or mean of all, read with the metric's direction (Beta posteriors for rates and
    /// conversions, normal ones for other metrics); the arms' chances sum to 1. Absent with two
    /// arms, where the variant's is its `chance_to_beat_control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance_to_be_best: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_control: Option<Comparison>,
}

/// One variant against control, the same object for a stage and a metric.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Comparison {
    /// Variant − control, Welch interval.
    pub absolute: Effect,
    /// Variant / control − 1, Fieller's interval inverting Welch's test (so it excludes 0
    /// exactly when `p_value` < alpha); `null` when control's mean is ≤ 0, and the interval
    /// alone `null` when it would be unbounded or of zero width, each with a warning.
    pub relative: Effect,
    /// Welch, two-sided, unadjusted.
    pub p_value: Option<f64>,
    /// After the experiment's correction across its comparisons.
    pub adjusted_p_value: Option<f64>,
    /// The verdict rule's significance: under `sequential` the always-valid p-value, under
    /// `fixed` Welch's, each after the experiment's correction, below alpha (false while
    /// `waiting`). `verdict_interval` excludes 0 exactly when this is true.
    pub significant: bool,
    /// The rule that produced `verdict` and `significant`.
    #[serde(default)]
    pub decided_by: Analysis,
    /// From `significant`, the absolute difference and the metric's direction.
    #[serde(default)]
    pub verdict: Verdict,
    /// The interval that produced the verdict; `null` when the comparison has no test.
    #[serde(default)]
    pub verdict_interval: Option<VerdictInterval>,
    /// Always-valid interval and p-value of the absolute difference.
    pub sequential: SequentialResult,
    /// Chance that the variant is better, respecting the metric's direction.
    pub chance_to_beat_control: Option<f64>,
    /// Expected loss of choosing the variant, in the metric's units (≥ 0).
    pub expected_loss: Option<f64>,
    /// Set when the stage or metric declares a covariate (decision 023): whether the figures
    /// above are regression-adjusted (CUPED), θ and the variance the covariate explained —
    /// or why the adjustment was not applied (then every figure above is unadjusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuped: Option<CupedResult>,
    /// When CUPED was applied: the same comparison without the adjustment, for reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unadjusted: Option<UnadjustedComparison>,
    /// What the verdict interval is recomputed from at the corrected level; not serialized.
    #[serde(skip)]
    #[cfg_attr(feature = "utoipa", schema(ignore))]
    pub(crate) basis: BasisSlot,
}

/// The regression adjustment of one comparison (decision 023).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CupedResult {
    /// The unit attribute adjusted for (`null` offline when the input names none).
    pub attribute: Option<String>,
    /// Whether the comparison's headline figures are adjusted; false with `not_applied`
    /// saying why (no covariate variance, a single unit, impossible sums, …).
    pub applied: bool,
    /// Cov(x, y)/Var(x) over control and this variant pooled.
    pub theta: Option<f64>,
    /// 1 − adjusted/unadjusted variance of the difference: the interval is √(1 − this) as
    /// wide as without the covariate (≈ ρ² for equal arms).
    pub variance_reduction: Option<f64>,
    /// Units whose covariate was missing or not a number (counted as 0), per arm.
    pub covariate_missing: CovariateMissing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<String>,
}

/// Units without a (numeric) covariate in control and in the variant.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CovariateMissing {
    pub control: u64,
    pub variant: u64,
}

/// A CUPED comparison's figures without the adjustment (Welch, Fieller, always-valid), beside
/// the adjusted headline.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UnadjustedComparison {
    pub absolute: Effect,
    pub relative: Effect,
    pub p_value: Option<f64>,
    pub sequential: SequentialResult,
    pub chance_to_beat_control: Option<f64>,
}

/// Where a comparison keeps its [`Basis`]: derived from the serialized numbers, not part of
/// the value, so it always compares equal and a results document equals its JSON round trip.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BasisSlot(pub Option<Basis>);

impl PartialEq for BasisSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The data of a comparison's tests, kept to recompute an interval at another level (the
/// segments' re-adjustment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Basis {
    pub control: Sample,
    pub variant: Sample,
    /// Welch–Satterthwaite df of the fixed-horizon test.
    pub df: f64,
    /// Units of the two arms (N of the confidence sequence).
    pub total_units: u64,
    /// The sequence's mixing variance, tuned for the experiment's alpha.
    pub rho2: f64,
    /// Under `fixed`, the planned sample is not in yet.
    pub waiting: bool,
    /// The metric's good direction (stages: increase).
    pub direction: Direction,
    /// Under CUPED the relative effect is Δ'/ȳ_A (adjusted difference over control's
    /// observed mean), not a ratio of the two arms: what Fieller's inversion needs of it.
    pub relative_base: Option<RelativeBase>,
}

/// The denominator of a CUPED relative effect: control's observed mean, its squared standard
/// error and its covariance with the adjusted difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RelativeBase {
    pub mean: f64,
    pub mean_variance: f64,
    pub covariance_with_difference: f64,
}

/// A comparison's verdict, read with the metric's direction from the absolute difference.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significant, and the difference goes the metric's good way.
    Better,
    /// Significant, and the difference goes the metric's bad way.
    Worse,
    /// Not significant (or no test).
    #[default]
    Inconclusive,
    /// `fixed` analysis before the planned sample is in: no verdict yet.
    Waiting,
}

/// The interval beside a verdict: the always-valid one (`sequential`) or Welch's (`fixed`),
/// at the level the multiple-testing correction used for this comparison.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictInterval {
    /// Variant − control.
    pub absolute: [f64; 2],
    /// Variant / control − 1 by Fieller's inversion of the same test; `null` when control's
    /// mean is ≤ 0, not distinguishable from 0 (unbounded), or the ratio has no variance.
    pub relative: Option<[f64; 2]>,
    /// Confidence level, 1 − α·p/p_adjusted: the level at which the raw test decides exactly
    /// as the corrected p-value does (1 − α when the correction changed nothing).
    pub level: f64,
    /// Whether the level was lowered by the multiple-testing correction.
    pub adjusted: bool,
    /// Why the interval reads as it does (adjustment, waiting, missing relative interval).
    pub note: Option<String>,
    /// The rule's p-value after the correction (always-valid or Welch's).
    pub p_value: Option<f64>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Effect {
    pub estimate: Option<f64>,
    pub ci: Option<[f64; 2]>,
    /// Kept for pooling slices (Cochran's Q weights are 1/se²).
    pub standard_error: Option<f64>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SequentialResult {
    pub ci: Option<[f64; 2]>,
    pub p_value: Option<f64>,
}

/// How much of the planned sample is in: the power panel's headline stage.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleProgress {
    /// Units per variant the test is planned for (`power.n_per_variant`); `null` when the
    /// plan is undefined (e.g. control has not converted yet).
    pub planned_units: Option<u64>,
    /// Units of the smallest arm (`power.units_per_variant`).
    pub units: u64,
    /// units / planned_units, may exceed 1.
    pub progress: Option<f64>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrmResult {
    pub chi_square: Option<f64>,
    pub df: u64,
    pub p_value: Option<f64>,
    /// p < 0.001.
    pub mismatch: bool,
}

/// How far along the test is, for the headline stage (the last of the journey: the decisive
/// and rarest conversion) and for every stage.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerResult {
    pub alpha: f64,
    pub power: f64,
    /// The relative minimum detectable effect the test is planned for.
    pub mde: f64,
    /// Units of the smallest arm: the slowest arm decides when the test is done.
    pub units_per_variant: u64,
    pub stage: Option<String>,
    /// The control's rate at `stage`.
    pub baseline: Option<f64>,
    pub n_per_variant: Option<u64>,
    /// units_per_variant / n_per_variant (may exceed 1).
    pub progress: Option<f64>,
    /// The smallest relative lift detectable with the current sample.
    pub mde_reachable: Option<f64>,
    pub stages: Vec<StagePower>,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagePower {
    pub stage: String,
    pub baseline: Option<f64>,
    pub n_per_variant: Option<u64>,
    pub progress: Option<f64>,
    pub mde_reachable: Option<f64>,
}
