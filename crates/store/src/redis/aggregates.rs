//! Reading an experiment's counters hash back into `Aggregates`: one HGETALL whose size is
//! O(variants × (stages + metrics)), whatever the number of units.

use crate::StoreError;
use crate::counting::{self, Target};
use std::collections::HashMap;
use touchstone_model::{Aggregates, Experiment, Moments};

/// Parses the counters hash. Fields (written by the Lua scripts):
/// `<variant>:u` exposed units; `<variant>:s:<stage>:<n|s|q>` and `<variant>:m:<metric>:<n|s|q>`
/// count, sum and sum of squares. Unknown fields (a future phase of the layout) are skipped.
pub(crate) fn from_fields(
    experiment: &Experiment,
    fields: &[(String, String)],
) -> Result<Aggregates, StoreError> {
    let mut units: HashMap<usize, u64> = HashMap::new();
    let mut moments: HashMap<(usize, Target), Moments> = HashMap::new();
    for (field, value) in fields {
        let corrupt =
            |source: Option<Box<dyn std::error::Error + Send + Sync>>| StoreError::Corrupt {
                what: format!(
                    "counter `{field}` = `{value}` of experiment `{}`",
                    experiment.key()
                ),
                source,
            };
        let parts: Vec<&str> = field.split(':').collect();
        let Some(variant) = parts.first().and_then(|v| v.parse::<usize>().ok()) else {
            continue;
        };
        match parts.as_slice() {
            [_, "u"] => {
                let count = value
                    .parse::<u64>()
                    .map_err(|error| corrupt(Some(Box::new(error))))?;
                units.insert(variant, count);
            }
            [_, group @ ("s" | "m"), name, part @ ("n" | "s" | "q")] => {
                let target = if *group == "s" {
                    Target::Stage((*name).to_owned())
                } else {
                    Target::Metric((*name).to_owned())
                };
                let entry = moments.entry((variant, target)).or_default();
                if *part == "n" {
                    entry.count = value
                        .parse::<u64>()
                        .map_err(|error| corrupt(Some(Box::new(error))))?;
                } else {
                    let number = value
                        .parse::<f64>()
                        .map_err(|error| corrupt(Some(Box::new(error))))?;
                    if *part == "s" {
                        entry.sum = number;
                    } else {
                        entry.sum_squares = number;
                    }
                }
            }
            _ => continue,
        }
    }
    Ok(counting::build_aggregates(
        experiment,
        |variant| units.get(&variant).copied().unwrap_or(0),
        |variant, target| {
            moments
                .get(&(variant, target.clone()))
                .copied()
                .unwrap_or_default()
        },
    ))
}
