//! What the store keeps per experiment and variant — sufficient statistics whose size does not
//! depend on the number of units — and what the stats crate reads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;

/// Count, sum and sum of squares of per-unit values: enough for means and sample variances.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Moments {
    pub count: u64,
    pub sum: f64,
    pub sum_squares: f64,
}

impl Moments {
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// What CUPED needs beside an outcome's moments (decision 022): over the same units, the sum
/// and sum of squares of the covariate x (taken at exposure) and the sum of products x·y (kept
/// exactly at every event: y changes by v, so x·y changes by x·v).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CovariateSums {
    /// Units whose covariate was missing or not a number (counted with x = 0).
    pub missing: u64,
    pub sum: f64,
    pub sum_squares: f64,
    pub sum_of_products: f64,
}

/// One journey stage of one variant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StageAggregates {
    pub stage: String,
    /// Exposed units that reached the stage inside the window (each unit once).
    pub reached: u64,
    /// Seconds from exposure to the unit's first arrival at the stage, over reaching units.
    pub seconds: Moments,
    /// Set when the stage declares a covariate: over exposed units, y = reached (0/1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariate: Option<CovariateSums>,
}

/// One metric of one variant: moments of per-unit values over the metric's denominator
/// (every exposed unit for conversion / sum / count; responding units otherwise).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricAggregates {
    pub metric: String,
    pub moments: Moments,
    /// Set when the metric declares a covariate (its units are the exposed units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariate: Option<CovariateSums>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VariantAggregates {
    pub key: String,
    /// Exposed units.
    pub units: u64,
    /// In journey order.
    pub stages: Vec<StageAggregates>,
    /// In `Experiment::metrics()` order.
    pub metrics: Vec<MetricAggregates>,
    /// New exposures per hour (hours since the Unix epoch, UTC): when units entered, so
    /// results can tell how many have had a metric's whole window. Empty for slices.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposures_by_hour: BTreeMap<i64, u64>,
}

impl VariantAggregates {
    /// Units whose exposure hour ended at or before `cutoff_ms`: conservative by at most an
    /// hour, never counting a unit whose window may still be open.
    pub fn exposed_by(&self, cutoff_ms: i64) -> u64 {
        self.exposures_by_hour
            .iter()
            .take_while(|(hour, _)| (**hour + 1).saturating_mul(HOUR_MS) <= cutoff_ms)
            .fold(0_u64, |total, (_, units)| total.saturating_add(*units))
    }
}

/// The hour (since the Unix epoch) a moment falls in, as `exposures_by_hour` keys it.
pub fn exposure_hour(at_ms: i64) -> i64 {
    at_ms.div_euclid(HOUR_MS)
}

/// Everything counted for one experiment, variants in definition order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Aggregates {
    pub variants: Vec<VariantAggregates>,
}

/// Plugin calls made for one variant of an experiment (the `eligible` hook for the variant the
/// unit would get, the `payload` hook for the assigned one), and how many of them fell back to
/// the safe default (trap, fuel, deadline, bad output): the built-in plugin-health guardrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PluginCalls {
    pub calls: u64,
    /// Of `calls`; never more.
    pub fallbacks: u64,
}

impl PluginCalls {
    /// Adds `other`'s counts (saturating: counters never wrap).
    pub fn add(&mut self, other: PluginCalls) {
        self.calls = self.calls.saturating_add(other.calls);
        self.fallbacks = self.fallbacks.saturating_add(other.fallbacks);
    }

    pub fn is_empty(&self) -> bool {
        self.calls == 0 && self.fallbacks == 0
    }
}
