//! Phases: a running experiment changes its split (weights, traffic, salt) only by starting its
//! next phase, which assigns with a fresh salt and counts from zero (decision 013). The spec
//! keeps the current phase's number and the split of every earlier one, so an earlier phase
//! can still be analysed with its own weights.

use super::{Experiment, ExperimentSpec};
use crate::timestamp::Timestamp;
use crate::validation::ValidationErrors;
use serde::{Deserialize, Serialize};

/// Phases an experiment may go through: each is kept in the definition, which every server
/// holds in memory and every assign reads.
pub const MAX_PHASES: u32 = 100;

/// One phase of an experiment: the split it assigned units with.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// 1 for the phase the experiment started in.
    pub number: u32,
    /// When it started; absent for phase 1 (its start is the `start` entry of the audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<Timestamp>,
    /// When the next phase replaced it; absent for the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<Timestamp>,
    /// One weight per variant, in variant order, as written.
    pub weights: Vec<f64>,
    pub traffic: f64,
    pub salt: String,
}

/// What the next phase changes; what is left out stays, except the salt, which is fresh
/// (`KEY:N`) unless given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseChange {
    pub weights: Option<Vec<f64>>,
    pub traffic: Option<f64>,
    pub salt: Option<String>,
}

pub(super) fn first_phase() -> u32 {
    1
}

pub(super) fn is_first_phase(phase: &u32) -> bool {
    *phase == 1
}

impl Experiment {
    /// The current phase: exposures, counters and results are kept per phase.
    pub fn phase(&self) -> u32 {
        self.spec.phase
    }

    /// Every phase, oldest first, the current one last (without `ended_at`).
    pub fn phases(&self) -> Vec<Phase> {
        let mut phases = self.spec.phases.clone();
        phases.push(self.current_phase());
        phases
    }

    fn current_phase(&self) -> Phase {
        Phase {
            number: self.spec.phase,
            started_at: self.spec.phase_started_at,
            ended_at: None,
            weights: self.spec.variants.iter().map(|v| v.weight).collect(),
            traffic: self.spec.traffic,
            salt: self.salt().to_owned(),
        }
    }

    /// The experiment as it was in phase `number` — its weights, traffic and salt, everything
    /// else as now — to read and analyse that phase's counters. `None` for a phase that does
    /// not exist. A view for reading: never save it as the definition.
    pub fn at_phase(&self, number: u32) -> Option<Experiment> {
        if number == self.spec.phase {
            return Some(self.clone());
        }
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        let phase = self.spec.phases.get(index)?;
        if phase.weights.len() != self.spec.variants.len() {
            return None;
        }
        let mut spec = self.spec.clone();
        for (variant, weight) in spec.variants.iter_mut().zip(&phase.weights) {
            variant.weight = *weight;
        }
        spec.traffic = phase.traffic;
        spec.salt = Some(phase.salt.clone());
        spec.phase = number;
        spec.phase_started_at = phase.started_at;
        spec.phases.truncate(index);
        Some(Experiment::derive(spec))
    }

    /// The experiment in its next phase, started `at`: the current split is kept in the
    /// history, the change applied, and the salt fresh (`KEY:N`) unless given. Every problem
    /// with the change is reported with its field (`weights[1]`, `traffic`, `salt`).
    pub fn next_phase(
        &self,
        change: PhaseChange,
        at: Timestamp,
    ) -> Result<Experiment, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let next_number = self.spec.phase + 1;
        if next_number > MAX_PHASES {
            errors.push(
                "phase",
                "too_many",
                format!("an experiment has at most {MAX_PHASES} phases; define a new experiment"),
            );
        }
        check_change(&change, self.spec.variants.len(), &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut current = self.current_phase();
        current.ended_at = Some(at);
        let mut spec = self.spec.clone();
        spec.phases.push(current);
        if let Some(weights) = change.weights {
            for (variant, weight) in spec.variants.iter_mut().zip(weights) {
                variant.weight = weight;
            }
        }
        if let Some(traffic) = change.traffic {
            spec.traffic = traffic;
        }
        spec.salt = Some(
            change
                .salt
                .unwrap_or_else(|| format!("{}:{next_number}", self.spec.key)),
        );
        spec.phase = next_number;
        spec.phase_started_at = Some(at);
        Experiment::new(spec)
    }
}

fn check_change(change: &PhaseChange, variants: usize, errors: &mut ValidationErrors) {
    if let Some(weights) = &change.weights {
        if weights.len() != variants {
            errors.push(
                "weights",
                "wrong_length",
                format!(
                    "needs one weight per variant: {variants}, got {}",
                    weights.len()
                ),
            );
        }
        check_weights("weights", weights, errors);
    }
    if let Some(traffic) = change.traffic
        && !(0.0..=1.0).contains(&traffic)
    {
        errors.push("traffic", "out_of_range", "must be between 0 and 1");
    }
    if let Some(salt) = &change.salt {
        check_salt("salt", salt, errors);
    }
}

fn check_weights(field: &str, weights: &[f64], errors: &mut ValidationErrors) {
    for (index, weight) in weights.iter().enumerate() {
        if !(weight.is_finite() && *weight > 0.0) {
            errors.push(
                format!("{field}[{index}]"),
                "out_of_range",
                "must be a positive number",
            );
        }
    }
    if weights.iter().all(|w| w.is_finite()) && !weights.iter().sum::<f64>().is_finite() {
        errors.push(
            field,
            "out_of_range",
            "the weights must add up to a finite number",
        );
    }
}

fn check_salt(field: &str, salt: &str, errors: &mut ValidationErrors) {
    if salt.is_empty() || salt.len() > 128 {
        errors.push(field, "invalid", "must be 1 to 128 characters");
    }
}

/// The phase fields of a definition: the current number is at least 1 and the history lists
/// every earlier phase, in order, each a split the variants can take.
pub(super) fn validate_phases(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    if !(1..=MAX_PHASES).contains(&spec.phase) {
        errors.push(
            "phase",
            "out_of_range",
            format!("must be 1 to {MAX_PHASES}"),
        );
        return;
    }
    let earlier = (spec.phase - 1) as usize;
    if spec.phases.len() != earlier {
        errors.push(
            "phases",
            "wrong_length",
            format!(
                "phase {} needs the {earlier} earlier phases, oldest first; got {}",
                spec.phase,
                spec.phases.len()
            ),
        );
    }
    for (index, phase) in spec.phases.iter().enumerate() {
        let field = |name: &str| format!("phases[{index}].{name}");
        if phase.number as usize != index + 1 {
            errors.push(
                field("number"),
                "out_of_order",
                format!("must be {}", index + 1),
            );
        }
        if phase.weights.len() != spec.variants.len() {
            errors.push(
                field("weights"),
                "wrong_length",
                "needs one weight per variant: the variants of an experiment with earlier phases cannot change",
            );
        }
        check_weights(&field("weights"), &phase.weights, errors);
        if !(0.0..=1.0).contains(&phase.traffic) {
            errors.push(field("traffic"), "out_of_range", "must be between 0 and 1");
        }
        check_salt(&field("salt"), &phase.salt, errors);
    }
}
