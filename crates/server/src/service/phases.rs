//! Starting a running experiment's next phase: the one way its weights, traffic or salt change
//! (decision 013). The new phase assigns with a fresh salt and counts from zero; the ending
//! phase's counters stay where they are, readable with `?phase=N`.

use crate::http::error::ApiError;
use crate::service::audit::{self, Acting};
use crate::snapshots::{self, Days};
use crate::state::AppState;
use serde_json::{Value, json};
use touchstone_model::{Experiment, PhaseChange, Status};

/// How often a phase start re-reads and retries after losing its compare-and-set to another
/// writer before giving up with a conflict (each loss means some definition was saved).
const SAVE_ATTEMPTS: usize = 8;

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
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    for _ in 0..SAVE_ATTEMPTS {
        // Built on the freshest definitions and saved only if they have not moved since
        // (compare-and-set): two phase starts racing on two servers cannot both build on
        // phase N, and a phase cannot overwrite a definition saved in between.
        state.catalog.reload(state.store.as_ref()).await?;
        let catalog = state.catalog.load();
        let existing = catalog
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                what: format!("experiment `{key}`"),
            })?;
        if existing.status() != Status::Running {
            return Err(ApiError::Conflict(format!(
                "`{key}` is {}: only a running experiment starts a new phase (start it first, or define it anew)",
                status_word(existing.status())
            )));
        }
        let next = existing
            .next_phase(change.clone(), acting.at)
            .map_err(ApiError::Validation)?;
        snapshots::take(state, &existing, days.day_of(acting.at)).await?;
        if state
            .store
            .save_definition_if(&next, catalog.version)
            .await?
            .is_none()
        {
            continue;
        }
        state.catalog.reload(state.store.as_ref()).await?;
        record(state, acting, &existing, &next, reason).await;
        return Ok(next);
    }
    Err(ApiError::Conflict(format!(
        "definitions kept changing while a new phase of `{key}` was being started; try again"
    )))
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
