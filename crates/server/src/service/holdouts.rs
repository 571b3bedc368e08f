//! Holdouts: defining one (its status included), reading them, and their results — the
//! synthetic experiment's (held out = control), so a positive effect is what the program earned.

use crate::error::ServiceError;
use crate::service::audit::{self, Acting};
use crate::service::definitions::{self, Change};
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
) -> Result<(Holdout, bool), ServiceError> {
    let next = Holdout::new(spec).map_err(ServiceError::Validation)?;
    // Decided on the freshest holdouts and saved with a compare-and-set: a stop another
    // server saved meanwhile is decided on again, never silently overwritten.
    let updated = definitions::update::<Holdout>(state, next.key(), |existing| {
        if let Some(existing) = existing
            && let Some(reason) = existing.reshuffle_conflict(&next)
        {
            return Err(ServiceError::Conflict(reason));
        }
        Ok(Change::Save(next.clone()))
    })
    .await?;
    let (existing, next) = (updated.before, updated.after);
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

pub fn get(state: &AppState, key: &str) -> Result<Holdout, ServiceError> {
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
pub async fn results(state: &AppState, key: &str) -> Result<Results, ServiceError> {
    results::results_of(state, synthetic(state, key)?).await
}

/// The holdout's results by one of its segment attributes.
#[tracing::instrument(skip(state))]
pub async fn segments(
    state: &AppState,
    key: &str,
    attribute: &str,
) -> Result<SegmentResults, ServiceError> {
    let what = format!("holdout `{key}`");
    results::segments_of(state, synthetic(state, key)?, &what, attribute).await
}

fn synthetic(state: &AppState, key: &str) -> Result<Arc<Experiment>, ServiceError> {
    Ok(Arc::new(known_holdout(state, key)?.experiment().clone()))
}

fn known_holdout(state: &AppState, key: &str) -> Result<Arc<Holdout>, ServiceError> {
    state
        .catalog
        .load()
        .holdout(key)
        .cloned()
        .ok_or_else(|| ServiceError::NotFound {
            what: format!("holdout `{key}`"),
        })
}
