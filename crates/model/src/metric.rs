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
        self.counting_rule().needs_value()
    }

    /// How the store counts this kind: data both stores execute (`store/counting.rs` and
    /// `record_events.lua` read only these flags), so a new kind is a new rule here.
    pub fn counting_rule(self) -> CountingRule {
        use Contribution::{One, Seconds, Value};
        let (contribution, value_steps, keep, unit_value) = match self {
            Self::Conversion => (One, NO_STEPS, Keep::Total, UnitValue::ReachedMinCount),
            Self::Count => (One, NO_STEPS, Keep::Total, UnitValue::Count),
            Self::Sum => (Value, NO_STEPS, Keep::Total, UnitValue::Kept),
            Self::Nps => (Value, NPS_STEPS, Keep::Last, UnitValue::Kept),
            Self::Mean => (Value, NO_STEPS, Keep::Total, UnitValue::MeanPerEvent),
            Self::Duration => (Seconds, NO_STEPS, Keep::First, UnitValue::Kept),
        };
        CountingRule {
            contribution,
            value_steps,
            keep,
            unit_value,
            counts_senders: !self.denominator_is_exposed_units(),
        }
    }
}

/// What one in-window event contributes to its unit's running state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contribution {
    /// 1 per event (the running count `n` is the total; no running value is kept).
    One,
    /// The event's `value` (through `value_steps` when there are any); an event without a
    /// value changes nothing.
    Value,
    /// Seconds from the unit's exposure to the event.
    Seconds,
}

/// How contributions combine into the unit's running value `x` (and count `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// `x` adds every contribution, `n` counts them.
    Total,
    /// `x` is the latest contribution, `n` is 1.
    Last,
    /// `x` is the first contribution, `n` is 1; later events change nothing, so counting an
    /// event twice is harmless and needs no de-duplication key.
    First,
}

/// The unit's value — what the counters sum and square — from its running `n` and `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitValue {
    /// `n`, the number of events.
    Count,
    /// 1 once `n` reaches the metric's `min_count`, else 0.
    ReachedMinCount,
    /// `x` as kept.
    Kept,
    /// `x / n`, the mean of the contributions (0 before the first).
    MeanPerEvent,
}

/// Steps mapping a value to a score: the first step whose lower bound the value reaches gives
/// its score. Empty: the value itself.
pub type ValueSteps = &'static [(f64, f64)];

const NO_STEPS: ValueSteps = &[];
/// NPS buckets of a 0–10 answer: promoters (9–10) +100, passives (7–8) 0, detractors −100.
const NPS_STEPS: ValueSteps = &[(9.0, 100.0), (7.0, 0.0), (f64::MIN, -100.0)];

/// A metric kind's counting rule (see [`MetricKind::counting_rule`]). Everything the stores
/// need to keep a unit's running state and its variant's moments (count, sum, sum of squares
/// of unit values).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountingRule {
    pub contribution: Contribution,
    pub value_steps: ValueSteps,
    pub keep: Keep,
    pub unit_value: UnitValue,
    /// The metric's denominator is the units that sent the event, so the counters count a
    /// unit when it first gets a value (for exposed units the store's unit count serves).
    pub counts_senders: bool,
}

impl CountingRule {
    /// Whether an event must carry a value to count.
    pub const fn needs_value(&self) -> bool {
        matches!(self.contribution, Contribution::Value)
    }

    /// Whether only a unit's first event matters (a repeat changes nothing).
    pub const fn once_per_unit(&self) -> bool {
        matches!(self.keep, Keep::First)
    }

    /// Whether the unit keeps a running value `x` beside its count `n`.
    pub const fn keeps_value(&self) -> bool {
        !matches!(self.contribution, Contribution::One)
    }

    /// An event's contribution: 1, its seconds since exposure, or its value through the
    /// steps; `None` for a value rule and an event without a value.
    pub fn contribution(&self, value: Option<f64>, seconds: f64) -> Option<f64> {
        let raw = match self.contribution {
            Contribution::One => 1.0,
            Contribution::Seconds => seconds,
            Contribution::Value => value?,
        };
        Some(
            self.value_steps
                .iter()
                .find(|(lower, _)| raw >= *lower)
                .map_or(raw, |(_, score)| *score),
        )
    }

    /// The running state after one contribution `u`, or `None` when it changes nothing.
    pub fn advance(&self, n: u64, x: f64, u: f64) -> Option<(u64, f64)> {
        match self.keep {
            Keep::Total => Some((n + 1, x + u)),
            Keep::Last => Some((1, u)),
            Keep::First if n == 0 => Some((1, u)),
            Keep::First => None,
        }
    }

    /// The unit's value from its running state.
    pub fn unit_value(&self, n: u64, x: f64, min_count: u32) -> f64 {
        match self.unit_value {
            UnitValue::Count => n as f64,
            UnitValue::ReachedMinCount => f64::from(u8::from(n >= u64::from(min_count))),
            UnitValue::Kept => x,
            UnitValue::MeanPerEvent if n == 0 => 0.0,
            UnitValue::MeanPerEvent => x / n as f64,
        }
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
    /// A pre-exposure attribute whose value predicts this metric: results adjust for it
    /// (CUPED, decision 022). Only for metrics over every exposed unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariate: Option<Covariate>,
}

/// A CUPED covariate: a numeric attribute of the unit, taken once at its exposure (the
/// enrolling assign or exposure) and never changed afterwards — a later value could already
/// be moved by the treatment. Missing or non-numeric counts as 0 (and as `missing`).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covariate {
    pub attribute: String,
}

impl Covariate {
    /// The covariate x an attribute's value gives: a JSON number within ±`MAX_ABS_NUMBER`.
    /// `None` — counted as x = 0 and as missing — for anything else (absent, text, a number
    /// out of bounds): text is not parsed, so `"12"` and `12` never mean two things.
    pub fn value_of(value: Option<&serde_json::Value>) -> Option<f64> {
        value
            .and_then(serde_json::Value::as_f64)
            .filter(|x| crate::event::is_bounded_number(*x))
    }
}

impl MetricSpec {
    pub fn min_count(&self) -> u32 {
        self.min_count.unwrap_or(1)
    }
}

/// NPS bucket of a 0–10 answer: promoters +100, passives 0, detractors −100.
pub fn nps_score(answer: f64) -> f64 {
    MetricKind::Nps
        .counting_rule()
        .contribution(Some(answer), 0.0)
        .unwrap_or(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays events through a rule: the unit values after each, as the stores see them.
    fn unit_values(kind: MetricKind, contributions: &[f64], min_count: u32) -> Vec<f64> {
        let rule = kind.counting_rule();
        let (mut n, mut x) = (0, 0.0);
        contributions
            .iter()
            .map(|&value| {
                let u = rule.contribution(Some(value), value).expect("a value");
                if let Some((new_n, new_x)) = rule.advance(n, x, u) {
                    (n, x) = (new_n, new_x);
                }
                rule.unit_value(n, x, min_count)
            })
            .collect()
    }

    #[test]
    fn each_kind_turns_events_into_the_unit_value_it_documents() {
        use MetricKind::*;
        assert_eq!(
            unit_values(Conversion, &[1.0, 1.0, 1.0], 2),
            [0.0, 1.0, 1.0]
        );
        assert_eq!(unit_values(Count, &[5.0, 5.0], 1), [1.0, 2.0]);
        assert_eq!(unit_values(Sum, &[10.0, -4.0], 1), [10.0, 6.0]);
        assert_eq!(unit_values(Nps, &[10.0, 8.0, 3.0], 1), [100.0, 0.0, -100.0]);
        assert_eq!(unit_values(Mean, &[10.0, 20.0], 1), [10.0, 15.0]);
        assert_eq!(unit_values(Duration, &[30.0, 90.0], 1), [30.0, 30.0]);
    }

    #[test]
    fn flags_follow_the_rule() {
        for kind in [MetricKind::Sum, MetricKind::Nps, MetricKind::Mean] {
            assert!(kind.needs_value(), "{kind:?}");
        }
        assert!(!MetricKind::Conversion.needs_value());
        assert!(MetricKind::Duration.counting_rule().once_per_unit());
        assert!(!MetricKind::Count.counting_rule().keeps_value());
        assert_eq!(nps_score(9.0), 100.0);
        assert_eq!(nps_score(7.0), 0.0);
        assert_eq!(nps_score(0.0), -100.0);
    }

    #[test]
    fn a_covariate_is_a_bounded_json_number_and_anything_else_is_missing() {
        use serde_json::json;
        let x = |value: serde_json::Value| Covariate::value_of(Some(&value));
        assert_eq!(x(json!(3)), Some(3.0));
        assert_eq!(x(json!(-120.5)), Some(-120.5));
        assert_eq!(x(json!(0)), Some(0.0));
        assert_eq!(x(json!(1e15)), Some(1e15));
        assert_eq!(x(json!(-1e15)), Some(-1e15));
        assert_eq!(x(json!(2e15)), None);
        assert_eq!(x(json!("12")), None);
        assert_eq!(x(json!(true)), None);
        assert_eq!(x(json!(null)), None);
        assert_eq!(x(json!([1])), None);
        assert_eq!(Covariate::value_of(None), None);
    }
}
