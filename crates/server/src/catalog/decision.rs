//! The one decision of what a unit gets at a touchpoint, made from the catalog alone: no I/O,
//! no clock, no plugin. Holdouts first (a unit a running holdout keeps out gets no experiment
//! and no shipped winner, but is exposed to every holdout in scope), then each running
//! experiment's targeting, layer range, traffic and variant — each experiment hashed once —
//! then the shipped winners. `/v1/assign`, the interaction segments, OpenFeature evaluation and
//! exposure checks all ask here, so they cannot disagree.
//!
//! Plugins stay outside: a touchpoint's `eligible` hook is I/O of a kind (a sandboxed call that
//! may fail), so the caller applies it to [`Decision::candidates`] and enrolls what it keeps.

use super::Catalog;
use serde_json::{Map, Value};
use std::sync::Arc;
use touchstone_model::{Experiment, Holdout};

/// Everything the definitions decide for one unit at one touchpoint (see
/// [`Catalog::decide`]). Borrowed from the catalog it was decided on, so it is as consistent
/// as that snapshot.
///
/// How to read it:
/// - `held_out_by` set → the unit sees the touchpoint's defaults: `candidates` and `shipped`
///   are empty. `holdouts` still lists every holdout in scope (the held-out unit is exposed to
///   them all: that is how a holdout is measured).
/// - otherwise → `candidates` are the experiments the unit may be enrolled in (after any
///   plugin's eligibility), each with its variant (`None`: outside the layer range or the
///   traffic, so never enrolled); `shipped` are winners served without recording anything.
#[derive(Debug, Clone, Default)]
pub struct Decision<'c> {
    /// Every running holdout whose touchpoints cover this one, ordered by key, with the unit's
    /// group in it. An enrolling request records an exposure to each (its synthetic experiment
    /// `holdout:KEY`, variant [`HoldoutGroup::variant`]), held out or not.
    pub holdouts: Vec<HoldoutGroup<'c>>,
    /// The first holdout (by key) among `holdouts` that holds the unit out, if any. When set,
    /// `candidates` and `shipped` are empty: no experiment, no shipped winner, no plugin call.
    pub held_out_by: Option<&'c Arc<Holdout>>,
    /// The running experiments at the touchpoint whose targeting admits the unit, ordered by
    /// key, each with the variant it gives the unit. What a plugin's `eligible` hook is asked
    /// about (all of them, with or without a variant); the eligible ones with a variant are
    /// enrolled (exposure recorded, first exposure wins).
    pub candidates: Vec<Candidate<'c>>,
    /// The shipped experiments at the touchpoint whose targeting admits the unit, ordered by
    /// key, with their winner: served to every admitted unit, whatever its bucket or layer;
    /// nothing is recorded and no plugin eligibility is asked.
    pub shipped: Vec<Winner<'c>>,
}

/// The unit's group in one running holdout covering the touchpoint.
#[derive(Debug, Clone, Copy)]
pub struct HoldoutGroup<'c> {
    pub holdout: &'c Arc<Holdout>,
    /// The unit's variant index in the holdout's synthetic experiment
    /// (`holdout.experiment()`): its control (`holdout`) when held out, else `program`. What
    /// the exposure to the holdout records.
    pub variant: usize,
}

impl HoldoutGroup<'_> {
    /// Whether the unit is in the held-out group (the synthetic experiment's control).
    pub fn holds_out(&self) -> bool {
        self.variant == self.holdout.experiment().control_index()
    }
}

/// A running experiment whose targeting admits the unit.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'c> {
    pub experiment: &'c Arc<Experiment>,
    /// The variant index the unit's hash gives (`experiment.variants()[i]`); `None` when the
    /// unit is outside the experiment's layer range or its traffic: it is in no variant.
    pub variant: Option<usize>,
}

/// A shipped experiment's winner, served to a unit its targeting admits.
#[derive(Debug, Clone, Copy)]
pub struct Winner<'c> {
    pub experiment: &'c Arc<Experiment>,
    /// The shipped variant's index.
    pub variant: usize,
}

impl Decision<'_> {
    /// The candidates that give the unit a variant, with that variant — what is enrolled when
    /// no plugin narrows them.
    pub fn assigned(&self) -> impl Iterator<Item = (&Arc<Experiment>, usize)> {
        self.candidates
            .iter()
            .filter_map(|candidate| Some((candidate.experiment, candidate.variant?)))
    }
}

/// What the definitions give one unit in one experiment, decided exactly as
/// [`Catalog::decide`] at the experiment's touchpoint would (a test holds the two together).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement<'c> {
    /// A draft or stopped experiment: no variant, the touchpoint's default.
    NotRunning,
    /// A running holdout covering the experiment's touchpoint holds the unit out.
    HeldOut(&'c Arc<Holdout>),
    /// The experiment's targeting does not admit the unit.
    NotTargeted,
    /// Running, but the unit is outside its layer range or its traffic.
    NotInTraffic,
    /// Running: the unit's variant index (before any plugin's eligibility, which is asked only
    /// at the touchpoint itself).
    Variant(usize),
    /// Shipped: the winner's index, served without recording.
    Shipped(usize),
}

impl Placement<'_> {
    /// The variant of a running experiment the unit is in, if any.
    pub fn running_variant(&self) -> Option<usize> {
        match self {
            Placement::Variant(variant) => Some(*variant),
            _ => None,
        }
    }
}

impl Catalog {
    /// Decides what `unit_id` gets at `touchpoint` (see [`Decision`]). Pure: the same catalog,
    /// unit and attributes give the same decision on every server.
    pub fn decide<'c>(
        &'c self,
        touchpoint: &str,
        unit_id: &str,
        attributes: &Map<String, Value>,
    ) -> Decision<'c> {
        let holdouts: Vec<HoldoutGroup<'c>> = self
            .running_holdouts
            .iter()
            .filter(|holdout| holdout.covers(touchpoint))
            .filter_map(|holdout| group_in(holdout, unit_id))
            .collect();
        let held_out_by = holdouts
            .iter()
            .find(|group| group.holds_out())
            .map(|group| group.holdout);
        if held_out_by.is_some() {
            return Decision {
                holdouts,
                held_out_by,
                ..Decision::default()
            };
        }
        let candidates = self
            .running_at(touchpoint)
            .iter()
            .filter(|experiment| experiment.targets(attributes))
            .map(|experiment| Candidate {
                experiment,
                variant: experiment.assign(unit_id),
            })
            .collect();
        let shipped = self
            .shipped_at(touchpoint)
            .iter()
            .filter(|experiment| experiment.targets(attributes))
            .filter_map(|experiment| {
                Some(Winner {
                    experiment,
                    variant: experiment.shipped_variant()?,
                })
            })
            .collect();
        Decision {
            holdouts,
            held_out_by,
            candidates,
            shipped,
        }
    }

    /// Decides what `unit_id` gets in the experiment `key` alone, as [`Catalog::decide`] at its
    /// touchpoint would, hashing only that experiment and the holdouts covering its
    /// touchpoint. `None` for a key the catalog does not know.
    pub fn decide_experiment(
        &self,
        key: &str,
        unit_id: &str,
        attributes: &Map<String, Value>,
    ) -> Option<Placement<'_>> {
        let experiment = self.get(key)?;
        let shipped = experiment.shipped_variant();
        if !experiment.is_running() && shipped.is_none() {
            return Some(Placement::NotRunning);
        }
        if let Some(holdout) = self.holding_out(experiment.touchpoint(), unit_id) {
            return Some(Placement::HeldOut(holdout));
        }
        if !experiment.targets(attributes) {
            return Some(Placement::NotTargeted);
        }
        Some(match shipped {
            Some(winner) if !experiment.is_running() => Placement::Shipped(winner),
            _ => experiment
                .assign(unit_id)
                .map_or(Placement::NotInTraffic, Placement::Variant),
        })
    }

    /// The first running holdout (by key) that keeps the unit away from `touchpoint`'s
    /// experiments, if any.
    fn holding_out(&self, touchpoint: &str, unit_id: &str) -> Option<&Arc<Holdout>> {
        self.running_holdouts
            .iter()
            .filter(|holdout| holdout.covers(touchpoint))
            .filter_map(|holdout| group_in(holdout, unit_id))
            .find(|group| group.holds_out())
            .map(|group| group.holdout)
    }
}

/// The unit's group in `holdout`: one hash, the synthetic experiment's own (salt = the
/// holdout key, control `[0, share)`), so the exposure and the decision cannot disagree.
fn group_in<'c>(holdout: &'c Arc<Holdout>, unit_id: &str) -> Option<HoldoutGroup<'c>> {
    let variant = holdout.experiment().assign(unit_id)?;
    Some(HoldoutGroup { holdout, variant })
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
