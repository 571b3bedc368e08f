//! `touchstone analyze`: aggregates as JSON from a warehouse → the same `Results` as the
//! server, and `--plan` for sample sizes. Bad input is an `InputError` naming its field.

use super::covariate_input::{covariate_sums, declarations, declared, stage_entry};
use super::segment_input::segments;
use super::{Arm, Design, MetricDesign, Results, run};
use crate::correction::Correction;
use crate::sequential::DEFAULT_TUNING;
use crate::welch::ALPHA_RANGE;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashSet};
use thiserror::Error;
use touchstone_model::{Analysis, Direction, MetricRole, Moments};

/// What is wrong with an input, and where (`variants[1].stages.purchase`).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InputError {
    #[error("{field}: required")]
    Missing { field: String },
    #[error("{field}: expected {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("{field}: must not be negative")]
    Negative { field: String },
    #[error("{field}: {reached} units reached the stage but only {units} were exposed")]
    ReachedAboveUnits {
        field: String,
        reached: u64,
        units: u64,
    },
    #[error("control: `{key}` is not one of the variants")]
    UnknownControl { key: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl InputError {
    /// The path of the offending field, e.g. `variants[1].stages.purchase`.
    pub fn field(&self) -> &str {
        match self {
            Self::Missing { field }
            | Self::WrongType { field, .. }
            | Self::Negative { field }
            | Self::ReachedAboveUnits { field, .. }
            | Self::Invalid { field, .. } => field,
            Self::UnknownControl { .. } => "control",
        }
    }
}

pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(super) fn object<'a>(
    value: &'a Value,
    field: &str,
) -> Result<&'a Map<String, Value>, InputError> {
    value.as_object().ok_or_else(|| InputError::WrongType {
        field: field.to_string(),
        expected: "an object",
    })
}

pub(super) fn required<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a Value, InputError> {
    map.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| InputError::Missing {
            field: field.to_string(),
        })
}

pub(super) fn string(value: &Value, field: &str) -> Result<String, InputError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| InputError::WrongType {
            field: field.to_string(),
            expected: "a string",
        })
}

pub(super) fn number(value: &Value, field: &str) -> Result<f64, InputError> {
    value
        .as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| InputError::WrongType {
            field: field.to_string(),
            expected: "a number",
        })
}

pub(super) fn whole(value: &Value, field: &str) -> Result<u64, InputError> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(x) if x < 0.0 => Err(InputError::Negative {
            field: field.to_string(),
        }),
        Some(x) if x.fract() == 0.0 && x < 9.0e15 => Ok(x as u64),
        _ => Err(InputError::WrongType {
            field: field.to_string(),
            expected: "a whole number",
        }),
    }
}

/// An optional number inside an open interval, with its default.
pub(super) fn optional_in(
    map: &Map<String, Value>,
    key: &str,
    default: f64,
    range: (f64, f64),
) -> Result<f64, InputError> {
    match map.get(key).filter(|v| !v.is_null()) {
        None => Ok(default),
        Some(value) => {
            let x = number(value, key)?;
            if x > range.0 && x < range.1 {
                Ok(x)
            } else {
                Err(invalid(
                    key,
                    format!("must be between {} and {} (exclusive)", range.0, range.1),
                ))
            }
        }
    }
}

/// `alpha` (default 0.05) inside [`ALPHA_RANGE`], inclusive.
pub(super) fn alpha_in(map: &Map<String, Value>) -> Result<f64, InputError> {
    match map.get("alpha").filter(|v| !v.is_null()) {
        None => Ok(0.05),
        Some(value) => {
            let alpha = number(value, "alpha")?;
            if (ALPHA_RANGE.0..=ALPHA_RANGE.1).contains(&alpha) {
                Ok(alpha)
            } else {
                Err(invalid(
                    "alpha",
                    format!(
                        "must be between {:e} and {} (inclusive)",
                        ALPHA_RANGE.0, ALPHA_RANGE.1
                    ),
                ))
            }
        }
    }
}

/// Results from aggregates given as JSON, the input of `touchstone analyze` (issue 4):
/// `{"control", "alpha", "journey": [...], "variants": [{"key", "weight", "units",
/// "stages": {STAGE: reached}, "metrics": {NAME: {"count", "sum", "sum_squares"}}}]}`, with
/// optional `"experiment"`, `"analysis"` (`"sequential"` default, or `"fixed"`),
/// `"sequential_tuning"` (default 10 000), `"correction"`
/// (`"holm"` default, or `"bh"`), `"mde"` (0.05) and `"power"` (0.8), and `"segments":
/// {ATTRIBUTE: {VALUE: {"variants": [...the same per-variant aggregates...]}}}` for results by
/// segment (the output's `segments` block, see [`super::segments`]).
pub fn analyze_input(json: &Value) -> Result<Results, InputError> {
    let root = object(json, "(input)")?;
    let experiment = match root.get("experiment").filter(|v| !v.is_null()) {
        Some(value) => Some(string(value, "experiment")?),
        None => None,
    };
    let alpha = alpha_in(root)?;
    let power = optional_in(root, "power", 0.8, (0.0, 1.0))?;
    let analysis = match root.get("analysis").filter(|v| !v.is_null()) {
        None => Analysis::Sequential,
        Some(value) => match string(value, "analysis")?.as_str() {
            "sequential" => Analysis::Sequential,
            "fixed" => Analysis::Fixed,
            _ => return Err(invalid("analysis", "must be \"sequential\" or \"fixed\"")),
        },
    };
    let mde = optional_in(root, "mde", 0.05, (0.0, f64::INFINITY))?;
    let tuning = optional_in(
        root,
        "sequential_tuning",
        DEFAULT_TUNING,
        (0.0, f64::INFINITY),
    )?;
    let correction = match root.get("correction").filter(|v| !v.is_null()) {
        None => Correction::Holm,
        Some(value) => match string(value, "correction")?.as_str() {
            "holm" => Correction::Holm,
            "bh" => Correction::BenjaminiHochberg,
            _ => return Err(invalid("correction", "must be \"holm\" or \"bh\"")),
        },
    };
    let journey = journey(required(root, "journey", "journey")?)?;
    let variants = required(root, "variants", "variants")?
        .as_array()
        .ok_or_else(|| InputError::WrongType {
            field: "variants".into(),
            expected: "an array",
        })?;
    if variants.len() < 2 {
        return Err(invalid(
            "variants",
            "needs at least two variants: a control and a treatment",
        ));
    }
    let metric_names = metric_names(variants)?;
    let mut keys = HashSet::new();
    let mut arms = Vec::with_capacity(variants.len());
    for (index, variant) in variants.iter().enumerate() {
        let arm = arm(
            variant,
            &format!("variants[{index}]"),
            &journey,
            &metric_names,
        )?;
        if !keys.insert(arm.key.clone()) {
            return Err(invalid(
                format!("variants[{index}].key"),
                format!("`{}` appears twice", arm.key),
            ));
        }
        arms.push(arm);
    }
    check_total_units(&arms, "variants")?;
    let control = match root.get("control").filter(|v| !v.is_null()) {
        None => 0,
        Some(value) => {
            let key = string(value, "control")?;
            arms.iter()
                .position(|arm| arm.key == key)
                .ok_or(InputError::UnknownControl { key })?
        }
    };
    let given = declared(&arms, "variants", &journey, &metric_names, None)?;
    let (stage_covariates, metric_covariates) = declarations(root, &journey, &metric_names, given)?;
    let metrics = metric_names
        .iter()
        .zip(metric_covariates)
        .map(|(name, covariate)| MetricDesign {
            key: name.clone(),
            kind: None,
            direction: Direction::Increase,
            role: MetricRole::Secondary,
            // Moments over every exposed unit are randomized; over fewer, they condition
            // on something that happened after assignment.
            randomized: arms.iter().all(|arm| {
                let position = metric_names.iter().position(|n| n == name);
                position.is_some_and(|i| arm.metrics[i].count == arm.units)
            }),
            covariate,
        })
        .collect();
    let design = Design {
        experiment,
        control,
        alpha,
        tuning,
        mde,
        power,
        correction,
        analysis,
        journey,
        stage_covariates,
        arms,
        metrics,
    };
    let segments = match root.get("segments").filter(|v| !v.is_null()) {
        Some(value) => segments(value, &design)?,
        None => Vec::new(),
    };
    let mut results = run(design, Vec::new());
    results.segments = segments;
    Ok(results)
}

fn journey(value: &Value) -> Result<Vec<String>, InputError> {
    let stages = value.as_array().ok_or_else(|| InputError::WrongType {
        field: "journey".into(),
        expected: "an array of stage names",
    })?;
    if stages.is_empty() {
        return Err(invalid("journey", "needs at least one stage"));
    }
    let mut seen = HashSet::new();
    stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let field = format!("journey[{index}]");
            let name = string(stage, &field)?;
            if seen.insert(name.clone()) {
                Ok(name)
            } else {
                Err(invalid(field, format!("stage `{name}` appears twice")))
            }
        })
        .collect()
}

/// Every metric named by any variant, in name order; each must then appear in every variant.
fn metric_names(variants: &[Value]) -> Result<Vec<String>, InputError> {
    let mut names = BTreeSet::new();
    for (index, variant) in variants.iter().enumerate() {
        if let Some(metrics) = variant.get("metrics").filter(|v| !v.is_null()) {
            names.extend(
                object(metrics, &format!("variants[{index}].metrics"))?
                    .keys()
                    .cloned(),
            );
        }
    }
    Ok(names.into_iter().collect())
}

/// One variant's aggregates; `path` names it in errors (`variants[1]`,
/// `segments.device.mobile.variants[1]`).
pub(super) fn arm(
    variant: &Value,
    path: &str,
    journey: &[String],
    metric_names: &[String],
) -> Result<Arm, InputError> {
    let at = |name: &str| format!("{path}.{name}");
    let map = object(variant, path)?;
    let key = string(required(map, "key", &at("key"))?, &at("key"))?;
    let weight = match map.get("weight").filter(|v| !v.is_null()) {
        None => 1.0,
        Some(value) => {
            let weight = number(value, &at("weight"))?;
            if weight <= 0.0 {
                return Err(invalid(at("weight"), "must be a positive number"));
            }
            weight
        }
    };
    let units = whole(required(map, "units", &at("units"))?, &at("units"))?;
    let stages = object(required(map, "stages", &at("stages"))?, &at("stages"))?;
    if let Some(unknown) = stages.keys().find(|name| !journey.contains(name)) {
        return Err(invalid(
            at(&format!("stages.{unknown}")),
            "is not a stage of the journey",
        ));
    }
    let (reached, stage_covariates) = journey
        .iter()
        .map(|stage| {
            let field = at(&format!("stages.{stage}"));
            let (reached, sums) = stage_entry(required(stages, stage, &field)?, &field, units)?;
            if reached > units {
                return Err(InputError::ReachedAboveUnits {
                    field,
                    reached,
                    units,
                });
            }
            Ok((reached, sums))
        })
        .collect::<Result<(Vec<u64>, Vec<_>), InputError>>()?;
    let empty = Map::new();
    let metrics_map = match map.get("metrics").filter(|v| !v.is_null()) {
        Some(value) => object(value, &at("metrics"))?,
        None => &empty,
    };
    let (metrics, metric_covariates) = metric_names
        .iter()
        .map(|name| {
            let field = at(&format!("metrics.{name}"));
            let value = required(metrics_map, name, &field)?;
            let moments = moments(value, &field)?;
            if moments.count > units {
                return Err(invalid(
                    format!("{field}.count"),
                    format!(
                        "{} units counted for the metric but only {units} were exposed",
                        moments.count
                    ),
                ));
            }
            let sums = covariate_sums(object(value, &field)?, &field, moments.count)?;
            Ok((moments, sums))
        })
        .collect::<Result<(Vec<Moments>, Vec<_>), InputError>>()?;
    Ok(Arm {
        key,
        weight,
        units,
        reached,
        metrics,
        stage_covariates,
        metric_covariates,
    })
}

/// Largest |sum| of a metric's values the tests accept.
const MAX_SUM: f64 = 1e140;
/// Largest sum of squares the tests accept.
const MAX_SUM_SQUARES: f64 = 1e280;

/// The exposed units of all `arms` together must fit in 64 bits: totals are taken (SRM,
/// the sequence's N), and an overflow is refused naming the variant that made it, in release
/// builds too.
pub(super) fn check_total_units(arms: &[Arm], path: &str) -> Result<(), InputError> {
    let mut total: u64 = 0;
    for (index, arm) in arms.iter().enumerate() {
        total = total.checked_add(arm.units).ok_or_else(|| {
            invalid(
                format!("{path}[{index}].units"),
                "the units of all variants together exceed 2^64 − 1",
            )
        })?;
    }
    Ok(())
}

fn moments(value: &Value, field: &str) -> Result<Moments, InputError> {
    let map = object(value, field)?;
    let part = |name: &str| format!("{field}.{name}");
    let count = whole(required(map, "count", &part("count"))?, &part("count"))?;
    let sum = number(required(map, "sum", &part("sum"))?, &part("sum"))?;
    let sum_squares = number(
        required(map, "sum_squares", &part("sum_squares"))?,
        &part("sum_squares"),
    )?;
    if sum_squares < 0.0 {
        return Err(InputError::Negative {
            field: part("sum_squares"),
        });
    }
    // The tests square these (variances, Welch's degrees of freedom, the sequence's N·se²):
    // beyond these bounds f64 overflows, so refuse rather than print nulls (decision 017).
    if sum.abs() > MAX_SUM {
        return Err(invalid(
            part("sum"),
            format!(
                "must be at most {MAX_SUM:e} in magnitude: the tests square it and f64 would overflow"
            ),
        ));
    }
    if sum_squares > MAX_SUM_SQUARES {
        return Err(invalid(
            part("sum_squares"),
            format!(
                "must be at most {MAX_SUM_SQUARES:e}: the tests square it and f64 would overflow"
            ),
        ));
    }
    // Cauchy–Schwarz: Σx² ≥ (Σx)²/n, else the variance would be negative.
    if count > 0 && sum_squares * (count as f64) < sum * sum * (1.0 - 1e-9) {
        return Err(invalid(
            part("sum_squares"),
            "is smaller than sum²/count: no data has these moments",
        ));
    }
    if count == 0 && (sum != 0.0 || sum_squares != 0.0) {
        return Err(invalid(part("count"), "is 0 but sum or sum_squares is not"));
    }
    Ok(Moments {
        count,
        sum,
        sum_squares,
    })
}
