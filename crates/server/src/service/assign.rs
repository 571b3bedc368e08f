//! Assignment at a touchpoint: every running experiment there whose targeting matches assigns
//! the unit deterministically; the first exposure is recorded idempotently. A unit a running
//! holdout keeps out of the touchpoint gets no experiment and no shipped winner; every unit in
//! a holdout's scope is exposed to it (held out or in the program) so the holdout is analysed.

use crate::catalog::Catalog;
use crate::observe;
use crate::plugins::Binding;
use crate::service::interactions;
use crate::service::plugin_context;
use crate::state::AppState;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use touchstone_model::{Experiment, Holdout, Timestamp};
use touchstone_plugin_host::{Hook, Session};
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

/// Assigns the unit at its touchpoint. Never fails for a store outage: assignment is a pure
/// function of the definition, so the shop keeps rendering; the outage is reported in
/// `exposures_recorded` and the log.
#[tracing::instrument(skip_all, fields(touchpoint = %request.touchpoint))]
pub async fn assign(state: &AppState, request: AssignRequest, now: Timestamp) -> AssignResponse {
    let catalog = state.catalog.load();
    let holdouts: Vec<&Arc<Holdout>> = catalog.holdouts_at(&request.touchpoint).collect();
    let holdout_exposures = async {
        if request.enroll {
            expose_to_holdouts(state, &catalog, &request, &holdouts, now).await
        } else {
            true
        }
    };
    if let Some(holdout) = holdouts.iter().find(|h| h.holds_out(&request.unit_id)) {
        // Held out: no experiment, no shipped winner, no plugin call — the shop's defaults.
        let key = holdout.key().to_owned();
        let recorded = holdout_exposures.await;
        return AssignResponse {
            unit_id: request.unit_id,
            touchpoint: request.touchpoint,
            assignments: Vec::new(),
            holdout: Some(key),
            exposures_recorded: recorded,
        };
    }
    let ((assignments, recorded), holdouts_recorded) = futures::join!(
        assign_experiments(state, &catalog, &request, now),
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

/// The experiments' and shipped winners' assignments of a unit no holdout keeps out.
async fn assign_experiments(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    now: Timestamp,
) -> (Vec<Assignment>, bool) {
    let candidates: Vec<&Arc<Experiment>> = catalog
        .running_at(&request.touchpoint)
        .iter()
        .filter(|experiment| experiment.targets(&request.attributes))
        .collect();
    let plugin = state.plugins.for_touchpoint(&request.touchpoint);
    // One session for both hooks of this request: one instance for a module built for ABI 1.1.
    let mut session = plugin
        .as_ref()
        .map(|(plugin, binding)| (plugin.session(), &**binding));
    let (mut assignments, recorded) = if request.enroll {
        let (eligible, plugin_version) = match &mut session {
            Some((session, binding)) if session.plugin().has_hook(Hook::Eligible) => {
                let eligible = plugin_eligibility(state, session, binding, request, &candidates);
                (eligible, Some(session.plugin().version().to_owned()))
            }
            _ => (candidates, None),
        };
        enroll(state, catalog, request, &eligible, plugin_version, now).await
    } else {
        existing(state, request, &candidates).await
    };
    assignments.extend(shipped(catalog, request));
    if let Some((session, binding)) = &mut session
        && session.plugin().has_hook(Hook::Payload)
        && !assignments.is_empty()
    {
        shape_payloads(state, catalog, session, binding, request, &mut assignments);
    }
    (assignments, recorded)
}

/// Records the unit's exposure to each holdout in scope (its synthetic experiment: `holdout`
/// or `program`), first exposure wins. No plugin decides holdout membership, so no plugin
/// version is kept. False when the store failed.
async fn expose_to_holdouts(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    holdouts: &[&Arc<Holdout>],
    now: Timestamp,
) -> bool {
    let writes = holdouts.iter().filter_map(|holdout| {
        let experiment = holdout.experiment();
        let variant = experiment.assign(&request.unit_id)?;
        let exposure = Exposure {
            unit_id: request.unit_id.clone(),
            variant,
            at: now,
            segments: segment_values(catalog, experiment, request),
            plugin_version: None,
        };
        Some(async move {
            let result = state.store.record_exposure(experiment, &exposure).await;
            (experiment, result)
        })
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

/// The winners of the touchpoint's shipped experiments whose targeting admits the unit,
/// whatever its bucket or layer: nothing recorded, no plugin eligibility asked (shipping makes
/// the variant the touchpoint's default).
fn shipped(catalog: &Catalog, request: &AssignRequest) -> Vec<Assignment> {
    catalog
        .shipped_at(&request.touchpoint)
        .iter()
        .filter(|experiment| experiment.targets(&request.attributes))
        .filter_map(|experiment| {
            let mut assignment = assignment(experiment, experiment.shipped_variant()?);
            assignment.shipped = true;
            Some(assignment)
        })
        .collect()
}

async fn enroll(
    state: &AppState,
    catalog: &Catalog,
    request: &AssignRequest,
    candidates: &[&Arc<Experiment>],
    plugin_version: Option<String>,
    now: Timestamp,
) -> (Vec<Assignment>, bool) {
    let chosen: Vec<(&Arc<Experiment>, usize)> = candidates
        .iter()
        .filter_map(|experiment| {
            experiment
                .assign(&request.unit_id)
                .map(|v| (*experiment, v))
        })
        .collect();
    let writes = chosen.iter().map(|(experiment, variant)| {
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
    let assignments = chosen
        .iter()
        .zip(results)
        .map(|((experiment, computed), result)| {
            // First exposure wins: report what the store holds (the same variant unless the
            // definition's split changed through a new phase).
            let (variant, new) = match result {
                Ok(record) => (record.variant, record.new),
                Err(error) => {
                    recorded = false;
                    observe::store_failure("record_exposure", &error);
                    (*computed, false)
                }
            };
            let assignment = assignment(experiment, variant);
            observe::assignment(experiment.key(), &assignment.variant, new);
            assignment
        })
        .collect();
    (assignments, recorded)
}

async fn existing(
    state: &AppState,
    request: &AssignRequest,
    candidates: &[&Arc<Experiment>],
) -> (Vec<Assignment>, bool) {
    let experiments: Vec<Arc<Experiment>> = candidates.iter().map(|e| Arc::clone(e)).collect();
    match state
        .store
        .find_exposures(&request.unit_id, &experiments)
        .await
    {
        Ok(records) => {
            let assignments = experiments
                .iter()
                .zip(records)
                .filter_map(|(experiment, record)| {
                    record.map(|record| assignment(experiment, record.variant))
                })
                .collect();
            (assignments, true)
        }
        Err(error) => {
            observe::store_failure("find_exposures", &error);
            (Vec::new(), false)
        }
    }
}

/// The candidates the touchpoint's plugin finds eligible, in one call for all of them. A
/// failing plugin makes no one eligible (the safe default: the shop shows its default). The
/// call counts for plugin health under the variant each candidate would give the unit.
fn plugin_eligibility<'a>(
    state: &AppState,
    session: &mut Session<'_>,
    binding: &Binding,
    request: &AssignRequest,
    candidates: &[&'a Arc<Experiment>],
) -> Vec<&'a Arc<Experiment>> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let experiments = candidates.iter().map(|e| e.key().to_owned()).collect();
    let context = plugin_context::eligible(request, experiments, &binding.config);
    let started = Instant::now();
    let answer = session.eligible(&context);
    let name = session.plugin().name();
    observe::plugin_call(name, "eligible", answer.is_ok(), started.elapsed());
    observe::plugin_fuel(name, "eligible", session.last_fuel());
    for experiment in candidates {
        if let Some(variant) = experiment.assign(&request.unit_id) {
            let health = &state.plugin_health;
            health.record(experiment.key(), variant, answer.is_err());
        }
    }
    match answer {
        Ok(eligibility) => candidates
            .iter()
            .filter(|experiment| eligibility.get(experiment.key()).copied().unwrap_or(false))
            .copied()
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Lets the plugin shape each assigned variant's payload; on failure, or for an experiment the
/// plugin leaves out, the variant's static payload stands. The call counts for plugin health
/// under each running experiment's assigned variant (a shipped one records nothing).
fn shape_payloads(
    state: &AppState,
    catalog: &Catalog,
    session: &mut Session<'_>,
    binding: &Binding,
    request: &AssignRequest,
    assignments: &mut [Assignment],
) {
    let context = plugin_context::payload(request, assignments, &binding.config);
    let started = Instant::now();
    let answer = session.payload(&context);
    let name = session.plugin().name();
    observe::plugin_call(name, "payload", answer.is_ok(), started.elapsed());
    observe::plugin_fuel(name, "payload", session.last_fuel());
    for assignment in assignments.iter().filter(|a| !a.shipped) {
        let variant = catalog
            .get(&assignment.experiment)
            .and_then(|experiment| experiment.variant_index(&assignment.variant));
        if let Some(variant) = variant {
            let health = &state.plugin_health;
            health.record(&assignment.experiment, variant, answer.is_err());
        }
    }
    if let Ok(mut payloads) = answer {
        for assignment in assignments {
            if let Some(payload) = payloads.remove(&assignment.experiment) {
                assignment.payload = payload;
            }
        }
    }
}

fn assignment(experiment: &Experiment, variant: usize) -> Assignment {
    let variants = experiment.variants();
    let variant = variants.get(variant).unwrap_or(experiment.control());
    Assignment {
        experiment: experiment.key().to_owned(),
        variant: variant.key.clone(),
        payload: variant.payload.clone(),
        shipped: false,
    }
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
