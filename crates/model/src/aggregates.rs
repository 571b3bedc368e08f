//! What the store keeps per experiment and variant — sufficient statistics whose size does not
//! depend on the number of units — and what the stats crate reads.

use serde::{Deserialize, Serialize};

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

/// One journey stage of one variant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StageAggregates {
    pub stage: String,
    /// Exposed units that reached the stage inside the window (each unit once).
    pub reached: u64,
    /// Seconds from exposure to the unit's first arrival at the stage, over reaching units.
    pub seconds: Moments,
}

/// One metric of one variant: moments of per-unit values over the metric's denominator
/// (every exposed unit for conversion / sum / count; responding units otherwise).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricAggregates {
    pub metric: String,
    pub moments: Moments,
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
}

/// Everything counted for one experiment, variants in definition order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Aggregates {
    pub variants: Vec<VariantAggregates>,
}
