//! `MemoryStore`'s per-variant counters, of an experiment phase or of one slice: the moments
//! of each stage and metric, and CUPED's sums (decision 022).

use crate::counting::{self, CovariateTally, Delta, Target};
use std::collections::{BTreeMap, HashMap};
use touchstone_model::Moments;

/// Per-variant counters: of the experiment, or of one slice.
#[derive(Debug, Default)]
pub(crate) struct MemoryCounters {
    pub units_per_variant: HashMap<usize, u64>,
    moments: HashMap<(usize, Target), Moments>,
    /// Σxy of the stages and metrics that declare a covariate.
    products: HashMap<(usize, Target), f64>,
    /// (variant, covariate attribute) → units with a value, Σx, Σx².
    covariates: HashMap<(usize, String), CovariateTally>,
    /// Kept for the experiment only, not per slice.
    pub exposures_by_hour: HashMap<usize, BTreeMap<i64, u64>>,
}

impl MemoryCounters {
    pub fn apply(&mut self, variant: usize, delta: &Delta) {
        let moments = self
            .moments
            .entry((variant, delta.target.clone()))
            .or_default();
        moments.count += delta.n;
        moments.sum += delta.s;
        moments.sum_squares += delta.q;
        if delta.p != 0.0 {
            *self
                .products
                .entry((variant, delta.target.clone()))
                .or_default() += delta.p;
        }
    }

    /// Adds a newly exposed unit's covariates that have a value (a missing one is counted by
    /// being left out: missing = units − taken).
    pub fn expose_covariates(&mut self, variant: usize, covariates: &[(&str, Option<f64>)]) {
        for (attribute, x) in covariates {
            let Some(x) = x else { continue };
            let tally = self
                .covariates
                .entry((variant, (*attribute).to_owned()))
                .or_default();
            tally.taken += 1;
            tally.sum += x;
            tally.sum_squares += x * x;
        }
    }
}

impl counting::Counters for MemoryCounters {
    fn units(&self, variant: usize) -> u64 {
        self.units_per_variant.get(&variant).copied().unwrap_or(0)
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
            .get(&(variant, attribute.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    fn hours(&self, variant: usize) -> BTreeMap<i64, u64> {
        self.exposures_by_hour
            .get(&variant)
            .cloned()
            .unwrap_or_default()
    }
}
