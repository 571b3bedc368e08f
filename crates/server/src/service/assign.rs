//! Assignment at a touchpoint: every running experiment there whose targeting matches assigns
//! the unit deterministically; the first exposure is recorded idempotently. A unit a running
//! holdout keeps out of the touchpoint gets no experiment and no shipped winner; every unit in
//! a holdout's scope is exposed to it (held out or in the program) so the holdout is analysed.

use crate::catalog::{Candidate, Catalog, Decision, HoldoutGroup};
use crate::observe;
use crate::plugins::Binding;
use crate::service::interactions;
use crate::state::AppState;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use touchstone_model::{Experiment, Timestamp, VariantSpec};
use touchstone_plugin_host::{
    Assignment as PluginAssignment, EligibleContext, Hook, LoadedPlugin, PayloadContext,
};
use touchstone_store::Exposure;

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
#[tracing::instrument(skip_all, fields(touchpoint = %request.touchpoint))]
pub async fn assign(state: &AppState, request: AssignRequest, now: Timestamp) -> AssignResponse {
    let catalog = state.catalog.load();
    let decision = catalog.decide(&request.touchpoint, &request.unit_id, &request.attributes);
    let holdout_exposures = async {
        if request.enroll {
            expose_to_holdouts(state, &catalog, &request, &decision.holdouts, now).await
        } else {
            true
        }
    };
    if let Some(holdout) = decision.held_out_by {
        // Held out: no experiment, no shipped winner, no plugin call — the shop's defaults.
        let recorded = holdout_exposures.await;
        return AssignResponse {
            holdout: Some(holdout.key().to_owned()),
            unit_id: request.unit_id,
            touchpoint: request.touchpoint,
            assignments: Vec::new(),
            exposures_recorded: recorded,
        };
    }
    let ((assignments, recorded), holdouts_recorded) = futures::join!(
        assign_experiments(state, &catalog, &request, &decision, now),
        holdout_exposures
    );
    AssignResponse {
        unit_id: request.unit_id,
        touchpoint: request.touchpoint,
        assignments,
        holdout: None,
        exposures_recorded: recorded && holdouts_recorded,
    }
}

/// The experiments' and shipped winners' assignments of a unit no holdout keeps out: the
/// decision's candidates, narrowed by the touchpoint plugin's `eligible` hook, enrolled; the
/// winners added; payloads shaped by its `payload` hook.
async fn assign_experiments(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    decision: &Decision<'_>,
    now: Timestamp,
) -> (Vec<Assignment>, bool) {
    let plugin = state.plugins.for_touchpoint(&request.touchpoint);
    let (mut chosen, recorded) = if request.enroll {
        let (eligible, plugin_version) = match &plugin {
            Some((plugin, binding)) if plugin.has_hook(Hook::Eligible) => {
                let eligible =
                    plugin_eligibility(state, plugin, binding, request, &decision.candidates);
                (eligible, Some(plugin.version().to_owned()))
            }
            _ => (decision.candidates.clone(), None),
        };
        enroll(state, catalog, request, &eligible, plugin_version, now).await
    } else {
        existing(state, request, &decision.candidates).await
    };
    chosen.extend(decision.shipped.iter().map(|winner| Chosen {
        experiment: winner.experiment,
        variant: winner.variant,
        shipped: true,
    }));
    let mut payloads: Vec<Value> = chosen
        .iter()
        .map(|chosen| {
            variant_of(chosen.experiment, chosen.variant)
                .payload
                .clone()
        })
        .collect();
    if let Some((plugin, binding)) = &plugin
        && plugin.has_hook(Hook::Payload)
        && !chosen.is_empty()
    {
        shape_payloads(state, plugin, binding, request, &chosen, &mut payloads);
    }
    let assignments = chosen
        .iter()
        .zip(payloads)
        .map(|(chosen, payload)| Assignment {
            experiment: chosen.experiment.key().to_owned(),
            variant: variant_of(chosen.experiment, chosen.variant).key.clone(),
            payload,
            shipped: chosen.shipped,
        })
        .collect();
    (assignments, recorded)
}

/// Records the unit's exposure to each holdout in scope (its synthetic experiment: `holdout`
/// or `program`, as decided), first exposure wins. No plugin decides holdout membership, so
/// no plugin version is kept. False when the store failed.
async fn expose_to_holdouts(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    holdouts: &[HoldoutGroup<'_>],
    now: Timestamp,
) -> bool {
    let writes = holdouts.iter().map(|group| {
        let experiment = group.holdout.experiment();
        let exposure = Exposure {
            unit_id: request.unit_id.clone(),
            variant: group.variant,
            at: now,
            segments: segment_values(catalog, experiment, request),
            plugin_version: None,
        };
        async move {
            let result = state.store.record_exposure(experiment, &exposure).await;
            (experiment, result)
        }
    });
    let mut recorded = true;
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
                recorded = false;
                observe::store_failure("record_exposure", &error);
            }
        }
    }
    recorded
}

/// Records the exposure of each candidate that gives the unit a variant.
async fn enroll<'c>(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
    plugin_version: Option<String>,
    now: Timestamp,
) -> (Vec<Chosen<'c>>, bool) {
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
        };
        async move { state.store.record_exposure(experiment, &exposure).await }
    });
    let results = join_all(writes).await;
    let mut recorded = true;
    let chosen = assigned
        .iter()
        .zip(results)
        .map(|((experiment, decided), result)| {
            // First exposure wins: report what the store holds (the same variant unless the
            // definition's split changed through a new phase).
            let (variant, new) = match result {
                Ok(record) => (record.variant, record.new),
                Err(error) => {
                    recorded = false;
                    observe::store_failure("record_exposure", &error);
                    (*decided, false)
                }
            };
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
    (chosen, recorded)
}

/// The variants the store holds for the unit in the candidates (`enroll: false`): a later
/// journey step reports earlier assignments and enrolls no one.
async fn existing<'c>(
    state: &AppState,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
) -> (Vec<Chosen<'c>>, bool) {
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
            (chosen, true)
        }
        Err(error) => {
            observe::store_failure("find_exposures", &error);
            (Vec::new(), false)
        }
    }
}

/// The candidates the touchpoint's plugin finds eligible, in one call for all of them. A
/// failing plugin makes no one eligible (the safe default: the shop shows its default). The
/// call counts for plugin health under the variant each candidate gives the unit.
fn plugin_eligibility<'c>(
    state: &AppState,
    plugin: &LoadedPlugin,
    binding: &Binding,
    request: &AssignRequest,
    candidates: &[Candidate<'c>],
) -> Vec<Candidate<'c>> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let context = EligibleContext {
        unit_id: request.unit_id.clone(),
        touchpoint: request.touchpoint.clone(),
        experiments: candidates
            .iter()
            .map(|candidate| candidate.experiment.key().to_owned())
            .collect(),
        attributes: request.attributes.clone(),
        config: &binding.config,
    };
    let started = Instant::now();
    let answer = plugin.eligible(&context);
    observe::plugin_call(plugin.name(), "eligible", answer.is_ok(), started.elapsed());
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
    plugin: &LoadedPlugin,
    binding: &Binding,
    request: &AssignRequest,
    chosen: &[Chosen<'_>],
    payloads: &mut [Value],
) {
    let context = PayloadContext {
        unit_id: request.unit_id.clone(),
        touchpoint: request.touchpoint.clone(),
        assignments: chosen
            .iter()
            .zip(payloads.iter())
            .map(|(chosen, payload)| PluginAssignment {
                experiment: chosen.experiment.key().to_owned(),
                variant: variant_of(chosen.experiment, chosen.variant).key.clone(),
                payload: payload.clone(),
            })
            .collect(),
        attributes: request.attributes.clone(),
        config: &binding.config,
    };
    let started = Instant::now();
    let answer = plugin.payload(&context);
    observe::plugin_call(plugin.name(), "payload", answer.is_ok(), started.elapsed());
    for chosen in chosen.iter().filter(|chosen| !chosen.shipped) {
        let health = &state.plugin_health;
        health.record(chosen.experiment.key(), chosen.variant, answer.is_err());
    }
    if let Ok(mut shaped) = answer {
        for (chosen, payload) in chosen.iter().zip(payloads.iter_mut()) {
            if let Some(shaped) = shaped.remove(chosen.experiment.key()) {
                *payload = shaped;
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
            let value = match attributes.get(name) {
                None | Some(Value::Null) => "(none)".to_owned(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
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
