//! The offline `segments` block of `touchstone analyze`: per attribute and value, the same
//! per-variant aggregates as the top level (`{"device": {"mobile": {"variants": [...]}}}`).
//! Each slice is analysed with the top level's design (journey, metrics, control, alpha), so
//! warehouse data gets the answer the server gives.

use super::covariate_input::declared;
use super::input::{InputError, arm, invalid, object, required};
use super::segments::{SegmentResults, combine_slices};
use super::{Arm, Design, run};
use serde_json::Value;

/// Every attribute's results, attributes and values in name order.
pub(super) fn segments(value: &Value, design: &Design) -> Result<Vec<SegmentResults>, InputError> {
    object(value, "segments")?
        .iter()
        .map(|(attribute, slices)| {
            let path = format!("segments.{attribute}");
            let slices = object(slices, &path)?
                .iter()
                .map(|(value, slice)| {
                    let arms = slice_arms(slice, &format!("{path}.{value}"), design)?;
                    Ok((value.clone(), run(slice_design(design, arms), Vec::new())))
                })
                .collect::<Result<Vec<_>, InputError>>()?;
            Ok(combine_slices(attribute, slices))
        })
        .collect()
}

/// The slice's arms in the top level's order. Each top-level variant must appear once, with
/// the top level's metrics; a missing weight is the top level's.
fn slice_arms(slice: &Value, path: &str, design: &Design) -> Result<Vec<Arm>, InputError> {
    let field = format!("{path}.variants");
    let variants = required(object(slice, path)?, "variants", &field)?
        .as_array()
        .ok_or_else(|| InputError::WrongType {
            field: field.clone(),
            expected: "an array",
        })?;
    let metric_names: Vec<String> = design.metrics.iter().map(|m| m.key.clone()).collect();
    let mut arms: Vec<Option<Arm>> = design.arms.iter().map(|_| None).collect();
    for (index, variant) in variants.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let mut parsed = arm(variant, &at, &design.journey, &metric_names)?;
        let position = design
            .arms
            .iter()
            .position(|top| top.key == parsed.key)
            .ok_or_else(|| {
                invalid(
                    format!("{at}.key"),
                    format!("`{}` is not one of the top-level variants", parsed.key),
                )
            })?;
        if arms[position].is_some() {
            return Err(invalid(
                format!("{at}.key"),
                format!("`{}` appears twice", parsed.key),
            ));
        }
        let extra = variant
            .get("metrics")
            .and_then(Value::as_object)
            .and_then(|metrics| metrics.keys().find(|name| !metric_names.contains(name)));
        if let Some(extra) = extra {
            return Err(invalid(
                format!("{at}.metrics.{extra}"),
                "is not a metric of the top-level variants",
            ));
        }
        if variant.get("weight").is_none_or(Value::is_null) {
            parsed.weight = design.arms[position].weight;
        }
        arms[position] = Some(parsed);
    }
    let arms = arms
        .into_iter()
        .zip(&design.arms)
        .map(|(arm, top)| {
            arm.ok_or_else(|| invalid(field.clone(), format!("misses variant `{}`", top.key)))
        })
        .collect::<Result<Vec<Arm>, InputError>>()?;
    super::input::check_total_units(&arms, &field)?;
    // A slice carries its own covariate sums (θ per slice) for exactly the top level's.
    let expected = (
        design.stage_covariates.clone(),
        design.metrics.iter().map(|m| m.covariate.clone()).collect(),
    );
    declared(
        &arms,
        &field,
        &design.journey,
        &metric_names,
        Some(&expected),
    )?;
    Ok(arms)
}

fn slice_design(design: &Design, arms: Vec<Arm>) -> Design {
    Design {
        experiment: design.experiment.clone(),
        control: design.control,
        alpha: design.alpha,
        tuning: design.tuning,
        mde: design.mde,
        power: design.power,
        correction: design.correction,
        analysis: design.analysis,
        journey: design.journey.clone(),
        stage_covariates: design.stage_covariates.clone(),
        arms,
        metrics: design.metrics.clone(),
    }
}
