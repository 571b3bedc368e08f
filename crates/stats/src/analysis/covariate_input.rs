//! CUPED in the input of `touchstone analyze` (decision 023): per variant, a metric's moments
//! and a stage's object form may carry `covariate_sum`, `covariate_sum_squares` and
//! `sum_of_products` (all three or none; `covariate_missing` optional), and either every
//! variant gives them for a metric or stage or none does. The optional top-level
//! `"covariates": {NAME: "attribute"}` names the attribute for the output.

use super::input::{InputError, invalid, number, object, required, string, whole};
use super::{Arm, DeclaredCovariate};
use serde_json::{Map, Value};
use touchstone_model::CovariateSums;

/// Per stage (journey order) and per metric (name order): what adjusts for a covariate.
type Declarations = (
    Vec<Option<DeclaredCovariate>>,
    Vec<Option<DeclaredCovariate>>,
);

/// The three sums CUPED needs; `covariate_missing` is optional.
const SUMS: [&str; 3] = ["covariate_sum", "covariate_sum_squares", "sum_of_products"];

/// The covariate sums of one metric or stage object at `field`, over `count` units, when
/// given; an incomplete set is an error naming the first absent field.
pub(super) fn covariate_sums(
    map: &Map<String, Value>,
    field: &str,
    count: u64,
) -> Result<Option<CovariateSums>, InputError> {
    let part = |name: &str| format!("{field}.{name}");
    let given = |name: &str| map.get(name).is_some_and(|v| !v.is_null());
    let Some(first) = SUMS
        .iter()
        .chain(["covariate_missing"].iter())
        .find(|name| given(name))
    else {
        return Ok(None);
    };
    if let Some(absent) = SUMS.iter().find(|name| !given(name)) {
        return Err(invalid(
            part(absent),
            format!(
                "required with {first}: CUPED needs covariate_sum, covariate_sum_squares and sum_of_products together"
            ),
        ));
    }
    let value = |name: &str| number(required(map, name, &part(name))?, &part(name));
    let sums = CovariateSums {
        missing: match map.get("covariate_missing").filter(|v| !v.is_null()) {
            Some(value) => whole(value, &part("covariate_missing"))?,
            None => 0,
        },
        sum: value("covariate_sum")?,
        sum_squares: value("covariate_sum_squares")?,
        sum_of_products: value("sum_of_products")?,
    };
    if sums.missing > count {
        return Err(invalid(
            part("covariate_missing"),
            format!(
                "{} units miss the covariate but only {count} were counted",
                sums.missing
            ),
        ));
    }
    if sums.sum_squares < 0.0 {
        return Err(InputError::Negative {
            field: part("covariate_sum_squares"),
        });
    }
    // Cauchy–Schwarz, as for sum_squares: else the covariate's variance would be negative.
    if count > 0 && sums.sum_squares * (count as f64) < sums.sum * sums.sum * (1.0 - 1e-9) {
        return Err(invalid(
            part("covariate_sum_squares"),
            "is smaller than covariate_sum²/count: no data has these sums",
        ));
    }
    if count == 0 && (sums.sum != 0.0 || sums.sum_squares != 0.0 || sums.sum_of_products != 0.0) {
        return Err(invalid(part("covariate_sum"), "is not 0 over 0 units"));
    }
    Ok(Some(sums))
}

/// A stage's entry: `reached` as a number, or `{"reached", covariate sums…}`.
pub(super) fn stage_entry(
    value: &Value,
    field: &str,
    units: u64,
) -> Result<(u64, Option<CovariateSums>), InputError> {
    match value.as_object() {
        None => Ok((whole(value, field)?, None)),
        Some(map) => {
            let reached_field = format!("{field}.reached");
            let reached = whole(required(map, "reached", &reached_field)?, &reached_field)?;
            Ok((reached, covariate_sums(map, field, units)?))
        }
    }
}

/// Which stages and metrics adjust for a covariate: those whose sums the first variant gives;
/// every other variant must then give them too, and none may give them elsewhere. `path` names
/// the variants (`variants`, `segments.device.mobile.variants`).
pub(super) fn declared(
    arms: &[Arm],
    path: &str,
    journey: &[String],
    metric_names: &[String],
    expected: Option<&Declarations>,
) -> Result<(Vec<bool>, Vec<bool>), InputError> {
    let Some(first) = arms.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let stages: Vec<bool> = match expected {
        Some((stages, _)) => stages.iter().map(Option::is_some).collect(),
        None => first.stage_covariates.iter().map(Option::is_some).collect(),
    };
    let metrics: Vec<bool> = match expected {
        Some((_, metrics)) => metrics.iter().map(Option::is_some).collect(),
        None => first
            .metric_covariates
            .iter()
            .map(Option::is_some)
            .collect(),
    };
    for (index, arm) in arms.iter().enumerate() {
        let check = |given: bool, wanted: bool, place: String| {
            if given == wanted {
                Ok(())
            } else if wanted {
                Err(invalid(
                    format!("{path}[{index}].{place}.covariate_sum"),
                    "required: another variant gives this one's covariate sums (CUPED needs them in every variant)",
                ))
            } else {
                Err(invalid(
                    format!("{path}[{index}].{place}.covariate_sum"),
                    "given here but not in the first variant (CUPED needs them in every variant or none)",
                ))
            }
        };
        for ((stage, sums), wanted) in journey.iter().zip(&arm.stage_covariates).zip(&stages) {
            check(sums.is_some(), *wanted, format!("stages.{stage}"))?;
        }
        for ((name, sums), wanted) in metric_names
            .iter()
            .zip(&arm.metric_covariates)
            .zip(&metrics)
        {
            check(sums.is_some(), *wanted, format!("metrics.{name}"))?;
        }
    }
    Ok((stages, metrics))
}

/// The declarations of the top level: each stage and metric with sums, named by the optional
/// `covariates` map, which may name nothing else.
pub(super) fn declarations(
    root: &Map<String, Value>,
    journey: &[String],
    metric_names: &[String],
    (stages, metrics): (Vec<bool>, Vec<bool>),
) -> Result<Declarations, InputError> {
    let empty = Map::new();
    let names = match root.get("covariates").filter(|v| !v.is_null()) {
        Some(value) => object(value, "covariates")?,
        None => &empty,
    };
    for (name, attribute) in names {
        let field = format!("covariates.{name}");
        string(attribute, &field)?;
        let stage = journey.iter().position(|s| s == name).map(|i| stages[i]);
        let metric = metric_names
            .iter()
            .position(|m| m == name)
            .map(|i| metrics[i]);
        if !(stage == Some(true) || metric == Some(true)) {
            return Err(invalid(
                field,
                "names no stage or metric whose variants give covariate sums",
            ));
        }
    }
    let declare = |name: &String, given: &bool| {
        given.then(|| DeclaredCovariate {
            attribute: names.get(name).and_then(Value::as_str).map(str::to_string),
        })
    };
    Ok((
        journey
            .iter()
            .zip(&stages)
            .map(|(n, g)| declare(n, g))
            .collect(),
        metric_names
            .iter()
            .zip(&metrics)
            .map(|(n, g)| declare(n, g))
            .collect(),
    ))
}
