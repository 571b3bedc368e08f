//! Exposures: the first time a unit is assigned in a running experiment.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use touchstone_model::Timestamp;

/// An exposure to record. First exposure wins for every field.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub unit_id: String,
    /// Index into the experiment's variants.
    pub variant: usize,
    pub at: Timestamp,
    /// Values of the experiment's declared segment attributes at exposure (`(none)` if absent).
    pub segments: BTreeMap<String, String>,
    /// Content hash of the plugin that decided eligibility, if one did.
    pub plugin_version: Option<String>,
    /// The unit's numeric attributes the experiment adjusts for (CUPED covariates), as sent
    /// with this exposure. The store keeps x of each `Experiment::covariate_attributes` from
    /// the first exposure only; one absent here, or not a number within ±`MAX_ABS_NUMBER`,
    /// is kept as x = 0 and counted as missing.
    pub covariates: BTreeMap<String, f64>,
}

/// What the store holds for a unit in an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExposureRecord {
    /// Index into the experiment's variants.
    pub variant: usize,
    pub exposed_at: Timestamp,
    /// True when this call created the exposure (the unit counters moved).
    pub new: bool,
}
