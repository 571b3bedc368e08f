//! Starting a running experiment's next phase: the one way its weights, traffic or salt change
//! (decision 013). The new phase assigns with a fresh salt and counts from zero; the ending
//! phase's counters stay where they are, readable with `?phase=N`.

use crate::error::ServiceError;
use crate::service::audit::{self, Acting};
use crate::service::definitions::{self, Change};
use crate::snapshots::{self, Days};
use crate::state::AppState;
use serde_json::{Value, json};
use std::sync::Arc;
use touchstone_model::{Experiment, PhaseChange, Status};

/// Starts phase N+1 of the running experiment `key` with `change`, keeping `reason` (`null`:
/// none given) in the audit entry. Before the switch, the ending phase's aggregates are saved
/// as today's snapshot, so its daily results end where it ended. Built on the freshest
/// definitions and saved with a compare-and-set ([`definitions::update_with`]): two phase
/// starts racing on two servers cannot both build on phase N, and a phase cannot overwrite a
/// definition saved in between.
#[tracing::instrument(skip(state, change, acting, reason))]
pub async fn start(
    state: &AppState,
    key: &str,
    change: PhaseChange,
    acting: &Acting,
    reason: Value,
) -> Result<Experiment, ServiceError> {
    let decide = |existing: Option<&Arc<Experiment>>| {
        let existing = existing.ok_or_else(|| definitions::unknown::<Experiment>(key))?;
        if existing.status() != Status::Running {
            return Err(ServiceError::Conflict(format!(
                "`{key}` is {}: only a running experiment starts a new phase (start it first, or define it anew)",
                status_word(existing.status())
            )));
        }
        let next = existing
            .next_phase(change.clone(), acting.at)
            .map_err(ServiceError::Validation)?;
        Ok(Change::Save(next))
    };
    let (existing, after) = save_next_phase(state, key, acting, decide).await?;
    record(state, acting, &existing, &after, reason).await;
    Ok(after)
}

/// Restarts the stopped experiment `key` in its next phase, in one compare-and-set save: status
/// running and phase N+1 (same weights and traffic, a fresh salt) together, so the guardrail
/// cannot stop it again on the old phase's counts in between. Its guardrail claims are dropped
/// (re-armed at once). Audited as a `start` with the phase change and `reason`.
#[tracing::instrument(skip(state, acting, reason))]
pub async fn restart(
    state: &AppState,
    key: &str,
    acting: &Acting,
    reason: Value,
) -> Result<Experiment, ServiceError> {
    let decide = |existing: Option<&Arc<Experiment>>| {
        let existing = existing.ok_or_else(|| definitions::unknown::<Experiment>(key))?;
        if existing.status() != Status::Stopped {
            return Err(ServiceError::Conflict(format!(
                "`{key}` is {}: only a stopped experiment restarts in a new phase",
                status_word(existing.status())
            )));
        }
        let next = existing
            .next_phase(PhaseChange::default(), acting.at)
            .map_err(ServiceError::Validation)?
            .with_status(Status::Running);
        Ok(Change::Save(next))
    };
    let (existing, after) = save_next_phase(state, key, acting, decide).await?;
    let next = after;
    // Re-armed at once: the claim of the stop that ended the last phase must not hold the
    // guardrail back from stopping the restarted one.
    if let Err(error) = state.store.release_guardrail(key).await {
        crate::observe::store_failure("release_guardrail", &error);
    }
    tracing::info!(
        experiment = key,
        phase = next.phase(),
        "experiment restarted in a new phase"
    );
    let mut changes = json!({
        "status": {"from": existing.status(), "to": Status::Running},
        "phase": {"from": existing.phase(), "to": next.phase()},
        "salt": {"from": existing.salt(), "to": next.salt()},
    });
    if !reason.is_null() {
        changes["reason"] = reason;
    }
    audit::record(state, acting, "start", Some(key), changes).await;
    Ok(next)
}

/// Saves the phase `decide` builds through the one definition-update primitive, the ending
/// phase's aggregates saved as today's snapshot before each compare-and-set: the experiment
/// before and after.
async fn save_next_phase(
    state: &AppState,
    key: &str,
    acting: &Acting,
    decide: impl FnMut(Option<&Arc<Experiment>>) -> Result<Change<Experiment>, ServiceError>,
) -> Result<(Arc<Experiment>, Experiment), ServiceError> {
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ServiceError::Internal(Box::new(error)))?;
    let snapshot = async |existing: Option<&Arc<Experiment>>, _: &Experiment| match existing {
        Some(existing) => {
            snapshots::take(state, existing, days.day_of(acting.at)).await?;
            Ok(())
        }
        None => Ok(()),
    };
    let updated = definitions::update_with(state, key, decide, snapshot).await?;
    match updated.before {
        Some(existing) => Ok((existing, updated.after)),
        None => Err(definitions::unknown::<Experiment>(key)),
    }
}

async fn record(
    state: &AppState,
    acting: &Acting,
    existing: &Experiment,
    next: &Experiment,
    reason: Value,
) {
    tracing::info!(
        experiment = next.key(),
        phase = next.phase(),
        salt = next.salt(),
        "new phase started"
    );
    let weights = |e: &Experiment| -> Vec<f64> { e.variants().iter().map(|v| v.weight).collect() };
    let mut changes = json!({
        "phase": {"from": existing.phase(), "to": next.phase()},
        "weights": {"from": weights(existing), "to": weights(next)},
        "traffic": {"from": existing.spec().traffic, "to": next.spec().traffic},
        "salt": {"from": existing.salt(), "to": next.salt()},
    });
    if !reason.is_null() {
        changes["reason"] = reason;
    }
    audit::record(state, acting, "phase", Some(next.key()), changes).await;
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Draft => "a draft",
        Status::Running => "running",
        Status::Stopped => "stopped",
        Status::Shipped => "shipped",
    }
}
