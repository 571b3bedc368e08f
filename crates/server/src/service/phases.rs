//! Starting a running experiment's next phase: the one way its weights, traffic or salt change
//! (decision 013). The new phase assigns with a fresh salt and counts from zero; the ending
//! phase's counters stay where they are, readable with `?phase=N`.

use crate::http::error::ApiError;
use crate::service::audit::{self, Acting};
use crate::service::{experiments, known_experiment};
use crate::snapshots::{self, Days};
use crate::state::AppState;
use serde_json::{Value, json};
use touchstone_model::{Experiment, PhaseChange, Status};

/// Starts phase N+1 of the running experiment `key` with `change`, keeping `reason` (`null`:
/// none given) in the audit entry. Before the switch, the ending phase's aggregates are saved
/// as today's snapshot, so its daily results end where it ended.
#[tracing::instrument(skip(state, change, acting, reason))]
pub async fn start(
    state: &AppState,
    key: &str,
    change: PhaseChange,
    acting: &Acting,
    reason: Value,
) -> Result<Experiment, ApiError> {
    // The freshest definition: two phases started on two servers at once must not both build
    // on the same phase N (the one that saves last would erase the other's history).
    state.catalog.reload(state.store.as_ref()).await?;
    let existing = known_experiment(state, key)?;
    if existing.status() != Status::Running {
        return Err(ApiError::Conflict(format!(
            "`{key}` is {}: only a running experiment starts a new phase (start it first, or define it anew)",
            status_word(existing.status())
        )));
    }
    let next = existing
        .next_phase(change, acting.at)
        .map_err(ApiError::Validation)?;
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    snapshots::take(state, &existing, days.day_of(acting.at)).await?;
    experiments::save(state, &next).await?;
    tracing::info!(
        experiment = key,
        phase = next.phase(),
        salt = next.salt(),
        "new phase started"
    );
    let weights = |e: &Experiment| -> Vec<f64> { e.variants().iter().map(|v| v.weight).collect() };
    let mut changes = json!({
        "phase": {"from": existing.phase(), "to": next.phase()},
        "weights": {"from": weights(&existing), "to": weights(&next)},
        "traffic": {"from": existing.spec().traffic, "to": next.spec().traffic},
        "salt": {"from": existing.salt(), "to": next.salt()},
    });
    if !reason.is_null() {
        changes["reason"] = reason;
    }
    audit::record(state, acting, "phase", Some(key), changes).await;
    Ok(next)
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Draft => "a draft",
        Status::Running => "running",
        Status::Stopped => "stopped",
        Status::Shipped => "shipped",
    }
}
