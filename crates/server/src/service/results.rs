//! Results of an experiment: the store's aggregates through the statistics engine.

use crate::http::error::ApiError;
use crate::state::AppState;
use touchstone_stats::analysis::{self, Results};

#[tracing::instrument(skip(state))]
pub async fn results(state: &AppState, key: &str) -> Result<Results, ApiError> {
    let experiment = state
        .catalog
        .load()
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what: format!("experiment `{key}`"),
        })?;
    let aggregates = state.store.load_aggregates(&experiment).await?;
    // CPU work leaves the reactor: the exact Bayesian sums grow with the counts (≈10 ms at
    // 30k conversions, seconds at millions).
    actix_web::web::block(move || analysis::analyze(&experiment, &aggregates))
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))
}
