//! Results by segment (issue 9): each slice of one attribute (device = mobile, desktop, …)
//! analysed like a whole experiment, its p-values re-adjusted across the attribute because
//! slices are exploratory, and Cochran's Q per stage / metric × variant to say whether the
//! effect differs between slices.

use super::results::{Comparison, Results};
use super::{analyze, summary};
use crate::correction::Correction;
use crate::heterogeneity::{SliceEffect, cochran_q};
use crate::sample::finite;
use serde::{Deserialize, Serialize};
use touchstone_model::{Aggregates, Experiment};

/// The body of `GET /v1/experiments/{key}/results/segments/{attribute}`, and one entry of the
/// offline `segments` block.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentResults {
    pub attribute: String,
    /// Always Benjamini–Hochberg: the slices' `adjusted_p_value`s control the false discovery
    /// rate across every comparison of the attribute (see `adjustment`).
    pub correction: Correction,
    /// How the slices' p-values are adjusted, in words: slices are exploratory.
    pub adjustment: String,
    /// m of the adjustment: the slice comparisons with a defined p-value.
    pub comparisons: usize,
    /// One per slice value, in the order given.
    pub values: Vec<SegmentValue>,
    /// Per stage and metric × non-control variant: stages first (journey order), then metrics.
    pub heterogeneity: Vec<Heterogeneity>,
    /// Undefined Q tests and slices whose split does not fit the weights; each slice's own
    /// warnings stay in its results.
    pub warnings: Vec<String>,
}

/// One slice: its value and the whole results object for its units.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentValue {
    pub value: String,
    /// Variants, stages, metrics, SRM, power, summary and warnings of this slice, with
    /// `correction` "bh" and `adjusted_p_value`s adjusted across the whole attribute.
    #[serde(flatten)]
    pub results: Results,
}

/// Cochran's Q of one variant's absolute effect across the slices, for a stage or a metric.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heterogeneity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub variant: String,
    pub q: Option<f64>,
    /// k − 1 over the k slices whose effect has a positive standard error.
    pub df: Option<u64>,
    /// P(χ²_df > Q), not adjusted.
    pub p_value: Option<f64>,
    /// The inverse-variance weighted mean of the slices' absolute effects.
    pub pooled_estimate: Option<f64>,
    /// Share of the variation between slices beyond chance (Higgins & Thompson's I²).
    pub i_squared: Option<f64>,
    /// The slice values that entered Q.
    pub values: Vec<String>,
}

/// Results of one segment attribute from each slice's aggregates (`(value, aggregates)`, e.g.
/// `("mobile", …)`; the caller decides the order and names such as `(none)` and `(other)`).
/// Every slice is [`analyze`]d as a whole experiment; then [`combine_slices`] re-adjusts and
/// adds Cochran's Q. Never panics; undefined numbers are `null` with a warning.
pub fn analyze_segments(
    experiment: &Experiment,
    attribute: &str,
    slices: &[(String, Aggregates)],
) -> SegmentResults {
    combine_slices(
        attribute,
        slices
            .iter()
            .map(|(value, aggregates)| (value.clone(), analyze(experiment, aggregates)))
            .collect(),
    )
}

/// The attribute-wide part from each slice's results (all of one design: same variants,
/// stages and metrics): Benjamini–Hochberg across slice values × stages and metrics ×
/// non-control variants, each slice's `correction`, significance and summary updated to
/// match; Cochran's Q per stage and metric × non-control variant.
pub fn combine_slices(attribute: &str, slices: Vec<(String, Results)>) -> SegmentResults {
    let mut values: Vec<SegmentValue> = slices
        .into_iter()
        .map(|(value, results)| SegmentValue { value, results })
        .collect();
    let comparisons = readjust(&mut values);
    let mut warnings = Vec::new();
    if values.is_empty() {
        warnings.push(format!("segment {attribute}: no slices counted yet"));
    }
    for slice in values.iter().filter(|s| s.results.srm.mismatch) {
        warnings.push(format!(
            "{attribute} = {}: sample ratio mismatch (p = {}); check assignment and logging for this slice",
            slice.value,
            summary::p_text(slice.results.srm.p_value)
        ));
    }
    let heterogeneity = heterogeneity(attribute, &values, &mut warnings);
    SegmentResults {
        attribute: attribute.to_string(),
        correction: Correction::BenjaminiHochberg,
        adjustment: format!(
            "Slices are exploratory: p-values are adjusted with Benjamini–Hochberg across the \
             {comparisons} comparisons of {attribute} (slice values × stages and metrics × \
             variants); heterogeneity p-values are not adjusted."
        ),
        comparisons,
        values,
        heterogeneity,
        warnings,
    }
}

/// One family over every slice: adjusted p-values, significance at each slice's alpha, and the
/// summary sentences that read them. Returns m.
fn readjust(values: &mut [SegmentValue]) -> usize {
    let family: Vec<(f64, &mut Comparison)> = values
        .iter_mut()
        .flat_map(|slice| {
            let alpha = slice.results.alpha;
            let Results {
                stages, metrics, ..
            } = &mut slice.results;
            stages
                .iter_mut()
                .flat_map(|s| s.variants.iter_mut())
                .filter_map(|v| v.vs_control.as_mut())
                .chain(
                    metrics
                        .iter_mut()
                        .flat_map(|m| m.variants.iter_mut())
                        .filter_map(|v| v.vs_control.as_mut()),
                )
                .map(move |c| (alpha, c))
        })
        .collect();
    let m = family
        .iter()
        .filter(|(_, c)| c.p_value.is_some_and(f64::is_finite))
        .count();
    super::verdict::decide_family(Correction::BenjaminiHochberg, family);
    for slice in values.iter_mut() {
        slice.results.correction = Correction::BenjaminiHochberg;
        slice.results.summary = summary::sentences(&slice.results);
    }
    m
}

/// What Q is computed over: a stage or a metric, by key, and one non-control variant.
enum Target<'a> {
    Stage(&'a str),
    Metric(&'a str),
}

impl Target<'_> {
    fn comparison<'r>(&self, results: &'r Results, variant: &str) -> Option<&'r Comparison> {
        match self {
            Self::Stage(key) => results
                .stages
                .iter()
                .find(|s| s.stage == *key)?
                .variants
                .iter()
                .find(|v| v.key == variant)?
                .vs_control
                .as_ref(),
            Self::Metric(key) => results
                .metrics
                .iter()
                .find(|m| m.metric == *key)?
                .variants
                .iter()
                .find(|v| v.key == variant)?
                .vs_control
                .as_ref(),
        }
    }
}

fn heterogeneity(
    attribute: &str,
    values: &[SegmentValue],
    warnings: &mut Vec<String>,
) -> Vec<Heterogeneity> {
    // Every slice shares the design; the first one names the stages, metrics and variants.
    let Some(first) = values.first() else {
        return Vec::new();
    };
    let first = &first.results;
    let variants: Vec<&str> = first
        .variants
        .iter()
        .map(|v| v.key.as_str())
        .filter(|key| *key != first.control)
        .collect();
    let targets = first
        .stages
        .iter()
        .map(|s| Target::Stage(&s.stage))
        .chain(first.metrics.iter().map(|m| Target::Metric(&m.metric)));
    let mut out = Vec::new();
    for target in targets {
        for &variant in &variants {
            out.push(q_for(attribute, values, &target, variant, warnings));
        }
    }
    out
}

fn q_for(
    attribute: &str,
    values: &[SegmentValue],
    target: &Target,
    variant: &str,
    warnings: &mut Vec<String>,
) -> Heterogeneity {
    let (stage, metric, what) = match target {
        Target::Stage(key) => (Some(key.to_string()), None, format!("stage {key}")),
        Target::Metric(key) => (None, Some(key.to_string()), format!("metric {key}")),
    };
    // Only slices whose effect has an estimate and a standard error can enter.
    let (names, effects): (Vec<&str>, Vec<SliceEffect>) = values
        .iter()
        .filter_map(|slice| {
            let absolute = &target.comparison(&slice.results, variant)?.absolute;
            Some((
                slice.value.as_str(),
                SliceEffect {
                    estimate: absolute.estimate?,
                    standard_error: absolute.standard_error?,
                },
            ))
        })
        .unzip();
    let mut entry = Heterogeneity {
        stage,
        metric,
        variant: variant.to_string(),
        q: None,
        df: None,
        p_value: None,
        pooled_estimate: None,
        i_squared: None,
        values: Vec::new(),
    };
    match cochran_q(&effects) {
        Ok(test) => {
            entry.q = finite(test.q);
            entry.df = Some(test.df);
            entry.p_value = finite(test.p_value);
            entry.pooled_estimate = finite(test.pooled_estimate);
            entry.i_squared = finite(test.i_squared);
            entry.values = test.included.iter().map(|&i| names[i].into()).collect();
        }
        Err(why) => warnings.push(format!(
            "heterogeneity by {attribute}, {what}, {variant}: Cochran's Q is undefined: {why}"
        )),
    }
    entry
}
