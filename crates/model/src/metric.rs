//! Metrics as definitions: each is evaluated per exposed unit inside a window measured from
//! that unit's exposure, by the store (running per-unit state) and by the stats crate (over
//! units' values). A new KPI is a new definition, not a special case in a handler.

use serde::{Deserialize, Serialize};

/// How a unit's events turn into the unit's value.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// 1 if the unit sent the event at least `min_count` times in the window, else 0.
    /// Denominator: exposed units.
    Conversion,
    /// Total of the events' `value` in the window. Denominator: exposed units.
    Sum,
    /// Number of events in the window. Denominator: exposed units.
    Count,
    /// The unit's last answer (0–10) mapped to +100 / 0 / −100. Denominator: units that answered.
    Nps,
    /// Mean of the unit's event values. Denominator: units that sent the event.
    Mean,
    /// Seconds from exposure to the unit's first such event. Denominator: units that sent it.
    Duration,
}

impl MetricKind {
    /// Whether every exposed unit is an observation (randomization protects the comparison),
    /// or only units that sent the event (a conditional, descriptive comparison).
    pub fn denominator_is_exposed_units(self) -> bool {
        matches!(self, Self::Conversion | Self::Sum | Self::Count)
    }

    /// Whether the event must carry a `value`.
    pub fn needs_value(self) -> bool {
        matches!(self, Self::Sum | Self::Nps | Self::Mean)
    }
}

/// Which way is good.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Increase,
    Decrease,
}

#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    Primary,
    #[default]
    Secondary,
    Guardrail,
}

/// A metric as declared in an experiment definition.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub key: String,
    pub kind: MetricKind,
    /// The outcome event the metric is computed from.
    pub event: String,
    #[serde(default)]
    pub direction: Direction,
    #[serde(default)]
    pub role: MetricRole,
    /// Hours after exposure when the window opens (default 0).
    #[serde(default)]
    pub window_start_hours: f64,
    /// Hours after exposure when the window closes (default: the experiment's conversion window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end_hours: Option<f64>,
    /// For `conversion`: how many events make a unit count (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
}

impl MetricSpec {
    pub fn min_count(&self) -> u32 {
        self.min_count.unwrap_or(1)
    }
}

/// NPS bucket of a 0–10 answer: promoters +100, passives 0, detractors −100.
pub fn nps_score(answer: f64) -> f64 {
    if answer >= 9.0 {
        100.0
    } else if answer >= 7.0 {
        0.0
    } else {
        -100.0
    }
}
