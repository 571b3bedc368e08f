//! Results of an experiment: the store's aggregates through the statistics engine.

use crate::http::error::ApiError;
use crate::snapshots::{self, Days};
use crate::state::AppState;
use serde::Serialize;
use std::sync::Arc;
use touchstone_model::{Aggregates, Experiment};
use touchstone_stats::analysis::{self, Results};

/// The results as they stood at the end of one day.
#[derive(Debug, Serialize)]
pub struct DayResults {
    pub date: String,
    #[serde(flatten)]
    pub results: Results,
}

/// Body of `GET /v1/experiments/{key}/results/daily`: oldest day first.
#[derive(Debug, Serialize)]
pub struct DailyResults {
    pub days: Vec<DayResults>,
}

fn experiment(state: &AppState, key: &str) -> Result<Arc<Experiment>, ApiError> {
    state
        .catalog
        .load()
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what: format!("experiment `{key}`"),
        })
}

/// Runs the statistics off the reactor: the exact Bayesian sums grow with the counts
/// (≈10 ms at 30k conversions, seconds at millions).
async fn analyze_all(
    experiment: Arc<Experiment>,
    aggregates: Vec<Aggregates>,
) -> Result<Vec<Results>, ApiError> {
    actix_web::web::block(move || {
        aggregates
            .iter()
            .map(|aggregates| analysis::analyze(&experiment, aggregates))
            .collect()
    })
    .await
    .map_err(|error| ApiError::Internal(Box::new(error)))
}

#[tracing::instrument(skip(state))]
pub async fn results(state: &AppState, key: &str) -> Result<Results, ApiError> {
    let experiment = experiment(state, key)?;
    let aggregates = state.store.load_aggregates(&experiment).await?;
    let mut results = analyze_all(experiment, vec![aggregates]).await?;
    results
        .pop()
        .ok_or_else(|| ApiError::Internal("no results computed".into()))
}

/// Every stored daily snapshot through the statistics engine.
#[tracing::instrument(skip(state))]
pub async fn daily(state: &AppState, key: &str) -> Result<DailyResults, ApiError> {
    let experiment = experiment(state, key)?;
    let snapshots = state.store.load_snapshots(&experiment).await?;
    let (dates, aggregates): (Vec<String>, Vec<Aggregates>) = snapshots
        .into_iter()
        .map(|snapshot| (snapshot.day, snapshot.aggregates))
        .unzip();
    let results = analyze_all(experiment, aggregates).await?;
    Ok(DailyResults {
        days: dates
            .into_iter()
            .zip(results)
            .map(|(date, results)| DayResults { date, results })
            .collect(),
    })
}

/// Takes (or replaces) today's snapshot now and answers it with its results.
#[tracing::instrument(skip(state))]
pub async fn snapshot_now(state: &AppState, key: &str) -> Result<DayResults, ApiError> {
    let experiment = experiment(state, key)?;
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    let today = days.day_of(crate::http::now());
    let snapshot = snapshots::take(state, &experiment, today).await?;
    let mut results = analyze_all(experiment, vec![snapshot.aggregates]).await?;
    let results = results
        .pop()
        .ok_or_else(|| ApiError::Internal("no results computed".into()))?;
    Ok(DayResults {
        date: snapshot.day,
        results,
    })
}
