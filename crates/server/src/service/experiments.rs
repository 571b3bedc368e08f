//! Defining, starting and stopping experiments.

use crate::error::ServiceError;
use crate::service::audit::{self, Acting};
use crate::service::definitions::{self, Change};
use crate::service::known_experiment;
use crate::state::AppState;
use serde_json::{Value, json};
use touchstone_model::{Experiment, ExperimentSpec, Status, ValidationErrors};

/// Creates or replaces a definition. An existing experiment keeps its status and its phases
/// (start, stop and new phases are their own actions); a running one may not change what would
/// reshuffle its units. Returns the saved experiment and whether it was created.
#[tracing::instrument(skip(state, spec, acting), fields(experiment = %spec.key))]
pub async fn define(
    state: &AppState,
    spec: ExperimentSpec,
    acting: &Acting,
) -> Result<(Experiment, bool), ServiceError> {
    let max_payload = state.settings.limits.max_payload_bytes;
    // Decided on the freshest definitions and saved only if they have not moved since: a
    // phase another server started moments ago is never rolled back by this definition.
    let updated = definitions::update::<Experiment>(state, &spec.key.clone(), |existing| {
        let mut spec = spec.clone();
        if let Some(existing) = existing {
            keep_server_owned_fields(&mut spec, existing.spec());
        }
        check_payload_sizes(&spec, max_payload)?;
        let next = Experiment::new(spec).map_err(ServiceError::Validation)?;
        if let Some(existing) = existing
            && let Some(change) = existing.reshuffle_conflict(&next)
        {
            let mut message = change.message;
            if change.new_phase {
                message.push_str(&format!(
                    "; start a new phase to change it: POST /v1/experiments/{}/phases",
                    next.key()
                ));
            }
            return Err(ServiceError::RunningChange {
                field: change.field,
                message,
                new_phase: change.new_phase,
            });
        }
        Ok(Change::Save(next))
    })
    .await?;
    let (existing, next) = (updated.before, updated.after);
    let as_json = |e: &Experiment| serde_json::to_value(e.spec()).unwrap_or_default();
    let changes = match &existing {
        Some(existing) => audit::changed_fields(&as_json(existing), &as_json(&next)),
        None => json!({ "created": as_json(&next) }),
    };
    audit::record(state, acting, "define", Some(next.key()), changes).await;
    Ok((next, existing.is_none()))
}

/// What only the server's own actions change: status, the shipped variant and the phases.
/// After phase 1 a definition that leaves the salt out keeps the phase's salt (it never chose
/// one; the phase did), rather than being refused for changing it.
fn keep_server_owned_fields(spec: &mut ExperimentSpec, existing: &ExperimentSpec) {
    spec.status = existing.status;
    spec.shipped = existing.shipped.clone();
    spec.phase = existing.phase;
    spec.phase_started_at = existing.phase_started_at;
    spec.phases = existing.phases.clone();
    if spec.salt.is_none() && existing.phase > 1 {
        spec.salt = existing.salt.clone();
    }
}

/// Every variant payload within `limits.max_payload_bytes` of JSON: payloads travel with every
/// assign response.
fn check_payload_sizes(spec: &ExperimentSpec, max: usize) -> Result<(), ServiceError> {
    let mut errors = ValidationErrors::default();
    for (index, variant) in spec.variants.iter().enumerate() {
        let size = serde_json::to_vec(&variant.payload)
            .map(|bytes| bytes.len())
            .unwrap_or(usize::MAX);
        if size > max {
            errors.push(
                format!("variants[{index}].payload"),
                "too_large",
                format!("is {size} bytes of JSON; at most {max} (limits.max_payload_bytes)"),
            );
        }
    }
    errors.into_result(()).map_err(ServiceError::Validation)
}

/// Moves an experiment to `status` (idempotent).
pub async fn set_status(
    state: &AppState,
    key: &str,
    status: Status,
    acting: &Acting,
) -> Result<Experiment, ServiceError> {
    set_status_because(state, key, status, acting, Value::Null).await
}

/// [`set_status`] with the reason kept in the audit entry (`null`: none given).
#[tracing::instrument(skip(state, acting, reason))]
pub async fn set_status_because(
    state: &AppState,
    key: &str,
    status: Status,
    acting: &Acting,
    reason: Value,
) -> Result<Experiment, ServiceError> {
    let updated = definitions::update::<Experiment>(state, key, |existing| {
        let existing = existing.ok_or_else(|| definitions::unknown::<Experiment>(key))?;
        if existing.status() == status {
            return Ok(Change::Unchanged(existing.as_ref().clone()));
        }
        if existing.status() == Status::Shipped && status == Status::Running {
            return Err(ServiceError::Conflict(format!(
                "`{key}` shipped: its results are frozen and it cannot run again; define a new experiment to test further"
            )));
        }
        Ok(Change::Save(existing.with_status(status)))
    })
    .await?;
    let (Some(existing), true) = (&updated.before, updated.saved) else {
        return Ok(updated.after);
    };
    tracing::info!(experiment = key, status = ?status, "experiment status changed");
    if status == Status::Running {
        // Re-arm the guardrails: the claim of the stop before this start would otherwise hold
        // for up to ten check intervals while a still-harmful variant runs again.
        if let Err(error) = state.store.release_guardrail(key).await {
            crate::observe::store_failure("release_guardrail", &error);
        }
    }
    let action = if status == Status::Running {
        "start"
    } else {
        "stop"
    };
    let mut changes = json!({"status": {"from": existing.status(), "to": status}});
    if !reason.is_null() {
        changes["reason"] = reason;
    }
    audit::record(state, acting, action, Some(key), changes).await;
    Ok(updated.after)
}

/// Ships `variant`: from now on every unit the targeting admits gets its payload at the
/// touchpoint and nothing more is recorded, so the results stay as they were at `now`.
/// Idempotent for the variant already shipped.
pub async fn ship(
    state: &AppState,
    key: &str,
    variant: &str,
    acting: &Acting,
) -> Result<Experiment, ServiceError> {
    ship_because(state, key, variant, acting, Value::Null).await
}

/// [`ship`] with the reason kept in the audit entry (`null`: none given); a guardrail's
/// rollback ships control.
#[tracing::instrument(skip(state, acting, reason))]
pub async fn ship_because(
    state: &AppState,
    key: &str,
    variant: &str,
    acting: &Acting,
    reason: Value,
) -> Result<Experiment, ServiceError> {
    let updated = definitions::update::<Experiment>(state, key, |existing| {
        let existing = existing.ok_or_else(|| definitions::unknown::<Experiment>(key))?;
        let index = existing
            .variant_index(variant)
            .ok_or_else(|| ServiceError::BadRequest {
                field: "variant".into(),
                message: format!("`{variant}` is not a variant of `{key}`"),
            })?;
        match (existing.status(), existing.shipped_variant()) {
            (Status::Shipped, Some(shipped)) if shipped == index => {
                return Ok(Change::Unchanged(existing.as_ref().clone()));
            }
            (Status::Shipped, _) => {
                return Err(ServiceError::Conflict(format!(
                    "`{key}` already shipped another variant; stop it first to ship another"
                )));
            }
            (Status::Draft, _) => {
                return Err(ServiceError::Conflict(format!(
                    "`{key}` never ran: there is no evidence to ship a winner on"
                )));
            }
            _ => {}
        }
        existing
            .shipped_with(index, acting.at)
            .map(Change::Save)
            .ok_or_else(|| ServiceError::Internal("a known variant index could not ship".into()))
    })
    .await?;
    let (Some(existing), true) = (&updated.before, updated.saved) else {
        return Ok(updated.after);
    };
    tracing::info!(experiment = key, variant, "experiment shipped");
    let mut changes =
        json!({"status": {"from": existing.status(), "to": Status::Shipped}, "variant": variant});
    if !reason.is_null() {
        changes["reason"] = reason;
    }
    audit::record(state, acting, "ship", Some(key), changes).await;
    Ok(updated.after)
}

pub fn get(state: &AppState, key: &str) -> Result<Experiment, ServiceError> {
    known_experiment(state, key).map(|experiment| experiment.as_ref().clone())
}

pub fn list(state: &AppState) -> Vec<Experiment> {
    state
        .catalog
        .load()
        .all()
        .into_iter()
        .map(|experiment| experiment.as_ref().clone())
        .collect()
}
