//! Reading an experiment's counters hash back into `Aggregates`: one HGETALL whose size is
//! O(variants × (stages + metrics)), whatever the number of units.

use super::RedisStore;
use super::connection::store_error;
use super::keys::{ExperimentKeys, attribute_in_key};
use crate::counting::{self, CovariateTally, Target};
use crate::{Slice, Snapshot, StoreError};
use redis::AsyncCommands;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use touchstone_model::{Aggregates, Experiment, Moments, SEGMENT_NONE, SEGMENT_OTHER};

/// One counters hash as read back.
#[derive(Default)]
struct StoredCounters {
    units: HashMap<usize, u64>,
    moments: HashMap<(usize, Target), Moments>,
    products: HashMap<(usize, Target), f64>,
    /// Keyed by the attribute as it appears in field names (`keys::attribute_in_key`).
    covariates: HashMap<(usize, String), CovariateTally>,
}

impl counting::Counters for StoredCounters {
    fn units(&self, variant: usize) -> u64 {
        self.units.get(&variant).copied().unwrap_or(0)
    }

    fn moments(&self, variant: usize, target: &Target) -> Moments {
        self.moments
            .get(&(variant, target.clone()))
            .copied()
            .unwrap_or_default()
    }

    fn products(&self, variant: usize, target: &Target) -> f64 {
        self.products
            .get(&(variant, target.clone()))
            .copied()
            .unwrap_or_default()
    }

    fn covariate(&self, variant: usize, attribute: &str) -> CovariateTally {
        self.covariates
            .get(&(variant, attribute_in_key(attribute).into_owned()))
            .copied()
            .unwrap_or_default()
    }

    fn hours(&self, _variant: usize) -> BTreeMap<i64, u64> {
        BTreeMap::new()
    }
}

/// Parses the counters hash. Fields (written by the Lua scripts):
/// `<variant>:u` exposed units; `<variant>:s:<stage>:<n|s|q|p>` and
/// `<variant>:m:<metric>:<n|s|q|p>` count, sum, sum of squares and (with a covariate) sum of
/// products x·y; `<variant>:c:<attribute in key>:<n|s|q>` the units with a value of a
/// covariate, Σx and Σx² (missing = units − n). Unknown fields (a future phase of the layout) are skipped.
pub(crate) fn from_fields(
    experiment: &Experiment,
    fields: &[(String, String)],
) -> Result<Aggregates, StoreError> {
    let mut stored = StoredCounters::default();
    for (field, value) in fields {
        let corrupt =
            |source: Option<Box<dyn std::error::Error + Send + Sync>>| StoreError::Corrupt {
                what: format!(
                    "counter `{field}` = `{value}` of experiment `{}`",
                    experiment.key()
                ),
                source,
            };
        let integer = || {
            value
                .parse::<u64>()
                .map_err(|error| corrupt(Some(Box::new(error))))
        };
        let number = || {
            value
                .parse::<f64>()
                .map_err(|error| corrupt(Some(Box::new(error))))
        };
        let parts: Vec<&str> = field.split(':').collect();
        let Some(variant) = parts.first().and_then(|v| v.parse::<usize>().ok()) else {
            continue;
        };
        match parts.as_slice() {
            [_, "u"] => {
                stored.units.insert(variant, integer()?);
            }
            [_, group @ ("s" | "m"), name, part @ ("n" | "s" | "q" | "p")] => {
                let target = if *group == "s" {
                    Target::Stage((*name).to_owned())
                } else {
                    Target::Metric((*name).to_owned())
                };
                if *part == "p" {
                    stored.products.insert((variant, target), number()?);
                    continue;
                }
                let entry = stored.moments.entry((variant, target)).or_default();
                match *part {
                    "n" => entry.count = integer()?,
                    "s" => entry.sum = number()?,
                    _ => entry.sum_squares = number()?,
                }
            }
            [_, "c", attribute, part @ ("n" | "s" | "q")] => {
                let entry = stored
                    .covariates
                    .entry((variant, (*attribute).to_owned()))
                    .or_default();
                match *part {
                    "n" => entry.taken = integer()?,
                    "s" => entry.sum = number()?,
                    _ => entry.sum_squares = number()?,
                }
            }
            _ => continue,
        }
    }
    Ok(counting::build_aggregates(experiment, &stored))
}

/// Adds the `exph` hash (`<variant>:<hour>` → exposures) to the variants it names; fields of
/// another shape are skipped like unknown counters.
pub(crate) fn add_exposure_hours(aggregates: &mut Aggregates, fields: &[(String, u64)]) {
    for (field, units) in fields {
        let Some((variant, hour)) = field.split_once(':') else {
            continue;
        };
        let (Ok(variant), Ok(hour)) = (variant.parse::<usize>(), hour.parse::<i64>()) else {
            continue;
        };
        if let Some(arm) = aggregates.variants.get_mut(variant) {
            *arm.exposures_by_hour.entry(hour).or_default() += units;
        }
    }
}

/// Every slice of `attribute`: the kept values plus `(none)` and `(other)` where they have
/// units; one SMEMBERS, then one pipelined HGETALL per slice, all on the experiment's slot.
pub(super) async fn load_slices(
    store: &RedisStore,
    experiment: &Experiment,
    attribute: &str,
) -> Result<Vec<Slice>, StoreError> {
    let keys = ExperimentKeys::of(experiment);
    let mut handle = store.handle().await?;
    let kept: Vec<String> = handle
        .smembers(keys.segment_values(attribute))
        .await
        .map_err(store_error)?;
    let values: BTreeSet<String> = kept
        .into_iter()
        .chain([SEGMENT_NONE.to_owned(), SEGMENT_OTHER.to_owned()])
        .collect();
    // One round trip for every slice's counters.
    let mut pipe = redis::pipe();
    for value in &values {
        pipe.hgetall(keys.slice(attribute, value));
    }
    let counters: Vec<Vec<(String, String)>> =
        pipe.query_async(&mut handle).await.map_err(store_error)?;
    let mut slices = Vec::with_capacity(values.len());
    for (value, fields) in values.into_iter().zip(counters) {
        if fields.is_empty() {
            continue;
        }
        slices.push(Slice {
            aggregates: from_fields(experiment, &fields)?,
            value,
        });
    }
    Ok(slices)
}

pub(super) async fn save_snapshot(
    store: &RedisStore,
    experiment: &Experiment,
    snapshot: &Snapshot,
) -> Result<(), StoreError> {
    let json =
        serde_json::to_string(&snapshot.aggregates).map_err(|error| StoreError::Corrupt {
            what: format!("snapshot of `{}` could not be encoded", experiment.key()),
            source: Some(Box::new(error)),
        })?;
    let mut handle = store.handle().await?;
    let _: i64 = handle
        .hset(
            ExperimentKeys::of(experiment).snapshots(),
            &snapshot.day,
            json,
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(super) async fn load_snapshots(
    store: &RedisStore,
    experiment: &Experiment,
) -> Result<Vec<Snapshot>, StoreError> {
    let mut handle = store.handle().await?;
    let stored: Vec<(String, String)> = handle
        .hgetall(ExperimentKeys::of(experiment).snapshots())
        .await
        .map_err(store_error)?;
    let mut snapshots = stored
        .into_iter()
        .map(|(day, json)| {
            let aggregates = serde_json::from_str(&json).map_err(|error| StoreError::Corrupt {
                what: format!("snapshot `{day}` of `{}`", experiment.key()),
                source: Some(Box::new(error)),
            })?;
            Ok(Snapshot { day, aggregates })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    snapshots.sort_by(|a, b| a.day.cmp(&b.day));
    Ok(snapshots)
}
