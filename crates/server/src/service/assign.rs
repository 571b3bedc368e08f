//! Assignment at a touchpoint: every running experiment there whose targeting matches assigns
//! the unit deterministically; the first exposure is recorded idempotently. A unit a running
//! holdout keeps out of the touchpoint gets no experiment and no shipped winner; every unit in
//! a holdout's scope is exposed to it (held out or in the program) so the holdout is analysed.

use crate::catalog::{Candidate, Catalog, Decision, HoldoutGroup};
use crate::observe;
use crate::plugins::ActiveBinding;
use crate::service::interactions;
use crate::service::plugin_context;
use crate::state::AppState;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use touchstone_model::attributes::segment_value;
use touchstone_model::event::MAX_TEXT_LEN;
use touchstone_model::{Covariate, Experiment, Timestamp, VariantSpec};
use touchstone_plugin_host::{Hook, Session};
use touchstone_store::{Exposure, StoreError};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// Who is randomized: a visitor or customer id.
    #[schema(example = "visitor-42")]
    pub unit_id: String,
    #[schema(example = "checkout.shipping")]
    pub touchpoint: String,
    /// Attributes targeting reads (country, device, cart value) and segments keep.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// `false`: only report existing assignments, enroll no one (a later journey step).
    #[serde(default = "enroll_by_default")]
    pub enroll: bool,
}

fn enroll_by_default() -> bool {
    true
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub experiment: String,
    pub variant: String,
    pub payload: Value,
    /// The experiment shipped this variant to everyone: no exposure was recorded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shipped: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignResponse {
    pub unit_id: String,
    pub touchpoint: String,
    pub assignments: Vec<Assignment>,
    /// The running holdout that keeps this unit out of the touchpoint's experiments (and their
    /// shipped winners): when set, `assignments` is empty and the shop shows its defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<String>,
    /// False when the store could not record the exposures: the assignments are still right
    /// (they are deterministic), but these units are not yet counted.
    pub exposures_recorded: bool,
}

/// One experiment's variant for the unit, by index until the response is built.
struct Chosen<'c> {
    experiment: &'c Arc<Experiment>,
    variant: usize,
    /// A shipped winner: nothing recorded, no plugin health.
    shipped: bool,
}

/// Assigns the unit at its touchpoint. Never fails for a store outage: assignment is a pure
/// function of the definition, so the shop keeps rendering; the outage is reported in
/// `exposures_recorded` and the log.
// A span per request at DEBUG, not INFO: at INFO the log subscriber formats its fields for every
// assign whether or not anything inside logs (the request span already carries the request id).
#[tracing::instrument(level = "debug", skip_all, fields(touchpoint = %request.touchpoint))]
pub async fn assign(state: &AppState, request: AssignRequest, now: Timestamp) -> AssignResponse {
    let catalog = state.catalog.load();
    let mode = if request.enroll {
        Mode::Enroll
    } else {
        Mode::Existing
    };
    let outcome = decide(state, &catalog, &request, None, mode, now).await;
    AssignResponse {
        unit_id: request.unit_id,
        touchpoint: request.touchpoint,
        assignments: outcome.assignments,
        holdout: outcome.holdout,
        exposures_recorded: outcome.store_error.is_none(),
    }
}

/// What a decision does with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Decide and record the first exposure: `/v1/assign`, OFREP single evaluation,
    /// `/v1/exposures`.
    Enroll,
    /// Decide only, record nothing: OFREP bulk evaluation (exposure happens on use), and the
    /// check `/v1/exposures` makes before it records.
    Preview,
    /// Report only the exposures the store already holds (`enroll: false`).
    Existing,
}

/// What a unit got at a touchpoint, and what was recorded: the answer every entry point
/// (`/v1/assign`, OFREP, `/v1/exposures`) builds from, so they cannot disagree.
#[derive(Debug)]
pub struct Outcome {
    /// Variants of running experiments (and winners of shipped ones), payloads shaped by the
    /// touchpoint's plugin.
    pub assignments: Vec<Assignment>,
    /// The running holdout that keeps the unit out of the touchpoint.
    pub holdout: Option<String>,
    /// Experiment exposures this call recorded for the first time.
    pub new_exposures: usize,
    /// The first store failure while recording or reading; the decision itself stands.
    pub store_error: Option<StoreError>,
}

/// [`Catalog::decide`] at `request.touchpoint` — narrowed to the experiment `only` when given —
/// then the touchpoint plugin's hooks, and the store per `mode`.
pub async fn decide(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    only: Option<&str>,
    mode: Mode,
    now: Timestamp,
) -> Outcome {
    let mut decision = catalog.decide(&request.touchpoint, &request.unit_id, &request.attributes);
    if let Some(key) = only {
        decision
            .candidates
            .retain(|candidate| candidate.experiment.key() == key);
        decision
            .shipped
            .retain(|winner| winner.experiment.key() == key);
    }
    let holdout_exposures = async {
        if mode == Mode::Enroll {
            expose_to_holdouts(state, catalog, request, &decision.holdouts, now).await
        } else {
            None
        }
    };
    if let Some(holdout) = decision.held_out_by {
        // Held out: no experiment, no shipped winner, no plugin call — the shop's defaults.
        return Outcome {
            assignments: Vec::new(),
            holdout: Some(holdout.key().to_owned()),
            new_exposures: 0,
            store_error: holdout_exposures.await,
        };
    }
    let (mut outcome, holdout_error) = futures::join!(
        assign_experiments(state, catalog, request, &decision, mode, now),
        holdout_exposures
    );
    outcome.store_error = outcome.store_error.or(holdout_error);
    outcome
}

/// The experiments' and shipped winners' assignments of a unit no holdout keeps out: the
/// decision's candidates, narrowed by the touchpoint plugin's `eligible` hook, enrolled; the
/// winners added; payloads shaped by its `payload` hook.
async fn assign_experiments(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    decision: &Decision<'_>,
    mode: Mode,
    now: Timestamp,
) -> Outcome {
    let plugin = state.plugins.for_touchpoint(&request.touchpoint);
    // One session for both hooks of this request: one instance for a module built for ABI 1.1.
    let mut session = plugin
        .as_ref()
        .map(|(plugin, binding)| (plugin.session(), &**binding));
    let (mut chosen, new_exposures, store_error) = if mode == Mode::Existing {
        let (chosen, store_error) = existing(state, request, &decision.candidates).await;
        (chosen, 0, store_error)
    } else {
        let (eligible, plugin_version) = match &mut session {
            Some((session, binding)) if session.plugin().has_hook(Hook::Eligible) => {
                let eligible =
                    plugin_eligibility(state, session, binding, request, &decision.candidates);
                (eligible, Some(session.plugin().version().to_owned()))
            }
            _ => (decision.candidates.clone(), None),
        };
        if mode == Mode::Preview {
            (preview(&eligible), 0, None)
        } else {
            enroll(state, catalog, request, &eligible, plugin_version, now).await
        }
    };
    chosen.extend(decision.shipped.iter().map(|winner| Chosen {
        experiment: winner.experiment,
        variant: winner.variant,
        shipped: true,
    }));
    // Each with its variant's static payload until the plugin shapes it.
    let mut assignments: Vec<Assignment> = chosen
        .iter()
        .map(|chosen| {
            let variant = variant_of(chosen.experiment, chosen.variant);
            Assignment {
                experiment: chosen.experiment.key().to_owned(),
                variant: variant.key.clone(),
                payload: variant.payload.clone(),
                shipped: chosen.shipped,
            }
        })
        .collect();
    if let Some((session, binding)) = &mut session
        && session.plugin().has_hook(Hook::Payload)
        && !chosen.is_empty()
    {
        shape_payloads(state, session, binding, request, &chosen, &mut assignments);
    }
    Outcome {
        assignments,
        holdout: None,
        new_exposures,
        store_error,
    }
}

/// Records the unit's exposure to each holdout in scope (its synthetic experiment: `holdout`
/// or `program`, as decided), first exposure wins. No plugin decides holdout membership, so
/// no plugin version is kept. The first store failure, if any.
async fn expose_to_holdouts(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    holdouts: &[HoldoutGroup<'_>],
    now: Timestamp,
) -> Option<StoreError> {
    let writes = holdouts.iter().map(|group| {
        let experiment = group.holdout.experiment();
        let exposure = Exposure {
            unit_id: request.unit_id.clone(),
            variant: group.variant,
            at: now,
            segments: segment_values(catalog, experiment, request),
            plugin_version: None,
            covariates: covariate_values(experiment, request),
        };
        async move {
            let result = state.store.record_exposure(experiment, &exposure).await;
            (experiment, result)
        }
    });
    let mut failure = None;
    for (experiment, result) in join_all(writes).await {
        match result {
            Ok(record) => {
                let variant = experiment
                    .variants()
                    .get(record.variant)
                    .map_or("", |variant| variant.key.as_str());
                observe::assignment(experiment.key(), variant, record.new);
            }
            Err(error) => {
                observe::store_failure("record_exposure", &error);
                failure = failure.or(Some(error));
            }
        }
    }
    failure
}

/// The candidates that give the unit a variant, recording nothing (bulk evaluation, and the
/// check before an exposure on use is recorded).
fn preview<'c>(candidates: &[Candidate<'c>]) -> Vec<Chosen<'c>> {
    candidates
        .iter()
        .filter_map(|candidate| {
            Some(Chosen {
                experiment: candidate.experiment,
                variant: candidate.variant?,
                shipped: false,
            })
        })
        .collect()
}

/// Records the exposure of each candidate that gives the unit a variant: the chosen variants,
/// how many exposures were new, and the first store failure.
async fn enroll<'c>(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
    plugin_version: Option<String>,
    now: Timestamp,
) -> (Vec<Chosen<'c>>, usize, Option<StoreError>) {
    let assigned: Vec<(&'c Arc<Experiment>, usize)> = candidates
        .iter()
        .filter_map(|candidate| Some((candidate.experiment, candidate.variant?)))
        .collect();
    let writes = assigned.iter().map(|(experiment, variant)| {
        let exposure = Exposure {
            unit_id: request.unit_id.clone(),
            variant: *variant,
            at: now,
            segments: segment_values(catalog, experiment, request),
            plugin_version: plugin_version.clone(),
            covariates: covariate_values(experiment, request),
        };
        async move { state.store.record_exposure(experiment, &exposure).await }
    });
    let results = join_all(writes).await;
    let mut store_error = None;
    let mut new_exposures = 0;
    let chosen = assigned
        .iter()
        .zip(results)
        .map(|((experiment, decided), result)| {
            // First exposure wins: report what the store holds (the same variant unless the
            // definition's split changed through a new phase).
            let (variant, new) = match result {
                Ok(record) => (record.variant, record.new),
                Err(error) => {
                    observe::store_failure("record_exposure", &error);
                    store_error = store_error.take().or(Some(error));
                    (*decided, false)
                }
            };
            new_exposures += usize::from(new);
            let variant = known_variant(experiment, variant);
            let key = &variant_of(experiment, variant).key;
            observe::assignment(experiment.key(), key, new);
            Chosen {
                experiment,
                variant,
                shipped: false,
            }
        })
        .collect();
    (chosen, new_exposures, store_error)
}

/// The variants the store holds for the unit in the candidates (`enroll: false`): a later
/// journey step reports earlier assignments and enrolls no one.
async fn existing<'c>(
    state: &AppState,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
) -> (Vec<Chosen<'c>>, Option<StoreError>) {
    let experiments: Vec<Arc<Experiment>> = candidates
        .iter()
        .map(|candidate| Arc::clone(candidate.experiment))
        .collect();
    match state
        .store
        .find_exposures(&request.unit_id, &experiments)
        .await
    {
        Ok(records) => {
            let chosen = candidates
                .iter()
                .zip(records)
                .filter_map(|(candidate, record)| {
                    record.map(|record| Chosen {
                        experiment: candidate.experiment,
                        variant: known_variant(candidate.experiment, record.variant),
                        shipped: false,
                    })
                })
                .collect();
            (chosen, None)
        }
        Err(error) => {
            observe::store_failure("find_exposures", &error);
            (Vec::new(), Some(error))
        }
    }
}

/// The candidates the touchpoint's plugin finds eligible, in one call for all of them. A
/// failing plugin makes no one eligible (the safe default: the shop shows its default). The
/// call counts for plugin health under the variant each candidate gives the unit.
fn plugin_eligibility<'c>(
    state: &AppState,
    session: &mut Session<'_>,
    binding: &ActiveBinding,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
) -> Vec<Candidate<'c>> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let experiments: Vec<String> = candidates
        .iter()
        .map(|candidate| candidate.experiment.key().to_owned())
        .collect();
    let input = plugin_context::eligible(request, &experiments, binding.encoded_config());
    let started = Instant::now();
    let answer = session.eligible_input(&input);
    let name = session.plugin().name();
    observe::plugin_call(
        name,
        "eligible",
        answer.is_ok(),
        started.elapsed(),
        session.last_fuel(),
    );
    for candidate in candidates {
        if let Some(variant) = candidate.variant {
            let health = &state.plugin_health;
            health.record(candidate.experiment.key(), variant, answer.is_err());
        }
    }
    match answer {
        Ok(eligibility) => candidates
            .iter()
            .filter(|candidate| {
                let key = candidate.experiment.key();
                eligibility.get(key).copied().unwrap_or(false)
            })
            .copied()
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Lets the plugin shape each chosen variant's payload; on failure, or for an experiment the
/// plugin leaves out, the variant's static payload stands. The call counts for plugin health
/// under each running experiment's chosen variant (a shipped one records nothing).
fn shape_payloads(
    state: &AppState,
    session: &mut Session<'_>,
    binding: &ActiveBinding,
    request: &AssignRequest,
    chosen: &[Chosen<'_>],
    assignments: &mut [Assignment],
) {
    let input = plugin_context::payload(request, assignments, binding.encoded_config());
    let started = Instant::now();
    let answer = session.payload_input(&input);
    drop(input);
    let name = session.plugin().name();
    observe::plugin_call(
        name,
        "payload",
        answer.is_ok(),
        started.elapsed(),
        session.last_fuel(),
    );
    for chosen in chosen.iter().filter(|chosen| !chosen.shipped) {
        let health = &state.plugin_health;
        health.record(chosen.experiment.key(), chosen.variant, answer.is_err());
    }
    if let Ok(mut shaped) = answer {
        for assignment in assignments.iter_mut() {
            if let Some(shaped) = shaped.remove(assignment.experiment.as_str()) {
                assignment.payload = shaped;
            }
        }
    }
}

/// `index` when the definition has that variant, else control's: an exposure recorded under
/// an earlier definition's split is reported (and counted for plugin health) as control.
fn known_variant(experiment: &Experiment, index: usize) -> usize {
    if index < experiment.variants().len() {
        index
    } else {
        experiment.control_index()
    }
}

/// The variant at `index` (one [`known_variant`] gave, or a decision's own).
fn variant_of(experiment: &Experiment, index: usize) -> &VariantSpec {
    experiment
        .variants()
        .get(index)
        .unwrap_or(experiment.control())
}

/// The unit's values of the experiment's declared segment attributes, as sent at exposure,
/// and its variant in each experiment this one interacts with.
/// The CUPED covariates (decision 022) the request's attributes give the experiment: each
/// attribute it adjusts for that carries a bounded number. The store keeps them from the first
/// exposure only, and counts an attribute left out here as missing.
fn covariate_values(experiment: &Experiment, request: &AssignRequest) -> BTreeMap<String, f64> {
    experiment
        .covariate_attributes()
        .into_iter()
        .filter_map(|attribute| {
            Covariate::value_of(request.attributes.get(attribute))
                .map(|x| (attribute.to_owned(), x))
        })
        .collect()
}

fn segment_values(
    catalog: &Catalog,
    experiment: &Experiment,
    request: &AssignRequest,
) -> BTreeMap<String, String> {
    let attributes = &request.attributes;
    let mut values: BTreeMap<String, String> = experiment
        .spec()
        .segments
        .iter()
        .map(|name| {
            // Arrays and objects (targeting inputs) and over-long texts never become slices.
            let value = segment_value(attributes.get(name), MAX_TEXT_LEN);
            (name.clone(), value)
        })
        .collect();
    interactions::add_segments(
        catalog,
        experiment,
        &request.unit_id,
        attributes,
        &mut values,
    );
    values
}
