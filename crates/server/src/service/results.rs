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
    Ok(analysis::analyze(&experiment, &aggregates))
}
