//! Holdouts: defining one (its status included), reading them, and their results — the
//! synthetic experiment's (held out = control), so a positive effect is what the program earned.

use crate::http::error::ApiError;
use crate::service::audit::{self, Acting};
use crate::service::results;
use crate::state::AppState;
use serde_json::json;
use std::sync::Arc;
use touchstone_model::holdout::experiment_key;
use touchstone_model::{Experiment, Holdout, HoldoutSpec};
use touchstone_stats::analysis::{Results, SegmentResults};

/// Creates or replaces a holdout, status included (`running` by default). Its share may not
/// change: that would move exposed units between the two groups. Returns the saved holdout
/// and whether it was created. The audit entry goes to the log of its synthetic experiment
/// (`GET /v1/audit?holdout=KEY`).
#[tracing::instrument(skip(state, spec, acting), fields(holdout = %spec.key))]
pub async fn define(
    state: &AppState,
    spec: HoldoutSpec,
    acting: &Acting,
) -> Result<(Holdout, bool), ApiError> {
    let existing = state.catalog.load().holdout(&spec.key).cloned();
    let next = Holdout::new(spec).map_err(ApiError::Validation)?;
    if let Some(existing) = &existing
        && let Some(reason) = existing.reshuffle_conflict(&next)
    {
        return Err(ApiError::Conflict(reason));
    }
    state.store.save_holdout(&next).await?;
    state.catalog.reload(state.store.as_ref()).await?;
    tracing::info!(holdout = next.key(), status = ?next.status(), "holdout saved");
    let as_json = |h: &Holdout| serde_json::to_value(h.spec()).unwrap_or_default();
    let changes = match &existing {
        Some(existing) => audit::changed_fields(&as_json(existing), &as_json(&next)),
        None => json!({ "created": as_json(&next) }),
    };
    let log = experiment_key(next.key());
    audit::record(state, acting, "define", Some(&log), changes).await;
    Ok((next, existing.is_none()))
}

pub fn get(state: &AppState, key: &str) -> Result<Holdout, ApiError> {
    known_holdout(state, key).map(|holdout| holdout.as_ref().clone())
}

pub fn list(state: &AppState) -> Vec<Holdout> {
    state
        .catalog
        .load()
        .holdouts()
        .map(|holdout| holdout.as_ref().clone())
        .collect()
}

/// The results document of the holdout's synthetic experiment: `holdout` (control) against
/// `program`, on the holdout's journey and metrics.
#[tracing::instrument(skip(state))]
pub async fn results(state: &AppState, key: &str) -> Result<Results, ApiError> {
    results::results_of(state, synthetic(state, key)?).await
}

/// The holdout's results by one of its segment attributes.
#[tracing::instrument(skip(state))]
pub async fn segments(
    state: &AppState,
    key: &str,
    attribute: &str,
) -> Result<SegmentResults, ApiError> {
    let what = format!("holdout `{key}`");
    results::segments_of(state, synthetic(state, key)?, &what, attribute).await
}

fn synthetic(state: &AppState, key: &str) -> Result<Arc<Experiment>, ApiError> {
    Ok(Arc::new(known_holdout(state, key)?.experiment().clone()))
}

fn known_holdout(state: &AppState, key: &str) -> Result<Arc<Holdout>, ApiError> {
    state
        .catalog
        .load()
        .holdout(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what: format!("holdout `{key}`"),
        })
}
