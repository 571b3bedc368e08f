//! Results of an experiment: the store's aggregates through the statistics engine, for the
//! current phase or an earlier one (each analysed with its own weights).

use crate::error::ServiceError;
use crate::service::known_experiment;
use crate::snapshots::{self, Days};
use crate::state::AppState;
use serde::Serialize;
use std::sync::Arc;
use touchstone_model::{Aggregates, Experiment, Phase, Timestamp};
use touchstone_stats::analysis::{self, Results, SegmentResults};

/// Which phase a results document is of, and every phase there is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhaseOf {
    /// The phase these results are of: `?phase=N`, by default the current one.
    #[schema(example = 1)]
    pub phase: u32,
    /// Every phase of the experiment, oldest first, the current one last, each with the split
    /// it assigned with.
    pub phases: Vec<Phase>,
}

impl PhaseOf {
    fn of(experiment: &Experiment, phase: u32) -> PhaseOf {
        PhaseOf {
            phase,
            phases: experiment.phases(),
        }
    }
}

/// Body of `GET /v1/experiments/{key}/results`: the phase, then the analysis of its counters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhaseResults {
    #[serde(flatten)]
    pub phase: PhaseOf,
    #[serde(flatten)]
    pub results: Results,
}

/// Body of `GET /v1/experiments/{key}/results/segments/{attribute}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhaseSegmentResults {
    #[serde(flatten)]
    pub phase: PhaseOf,
    #[serde(flatten)]
    pub results: SegmentResults,
}

/// The experiment `key` as it was in `phase` (default: the current one), with its phase info.
fn in_phase(
    state: &AppState,
    key: &str,
    phase: Option<u32>,
) -> Result<(Arc<Experiment>, PhaseOf), ServiceError> {
    let experiment = known_experiment(state, key)?;
    let Some(number) = phase else {
        let info = PhaseOf::of(&experiment, experiment.phase());
        return Ok((experiment, info));
    };
    let view = experiment
        .at_phase(number)
        .ok_or_else(|| ServiceError::NoSuchPhase {
            key: key.to_owned(),
            phase: number,
            current: experiment.phase(),
        })?;
    Ok((Arc::new(view), PhaseOf::of(&experiment, number)))
}

/// The results as they stood at the end of one day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayResults {
    /// `YYYY-MM-DD`, in `experiments.snapshot_time_zone`.
    #[schema(example = "2026-11-23")]
    pub date: String,
    #[serde(flatten)]
    pub results: Results,
}

/// Body of `GET /v1/experiments/{key}/results/daily`: the phase, and its days oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DailyResults {
    #[serde(flatten)]
    pub phase: PhaseOf,
    pub days: Vec<DayResults>,
}

/// Runs the statistics off the reactor: bounded whatever the counts (decision 017; the Beta
/// quadrature costs ~0.3 ms per comparison at any traffic), but a results document is dozens of
/// them, and the daily route many documents. Each aggregates comes with the moment it
/// describes, so metrics also say how many units had had their whole window by then.
async fn analyze_all(
    experiment: Arc<Experiment>,
    aggregates: Vec<(Aggregates, Timestamp)>,
) -> Result<Vec<Results>, ServiceError> {
    tokio::task::spawn_blocking(move || {
        aggregates
            .iter()
            .map(|(aggregates, as_of)| {
                let mut results = analysis::analyze(&experiment, aggregates);
                analysis::fill_mature_units(
                    &mut results,
                    &experiment,
                    aggregates,
                    as_of.as_millis(),
                );
                results
            })
            .collect()
    })
    .await
    .map_err(|error| ServiceError::Internal(Box::new(error)))
}

/// The analysis of one phase's counters (default: the current phase).
#[tracing::instrument(skip(state))]
pub async fn results(
    state: &AppState,
    key: &str,
    phase: Option<u32>,
) -> Result<PhaseResults, ServiceError> {
    let (experiment, phase) = in_phase(state, key, phase)?;
    let results = results_of(state, experiment).await?;
    Ok(PhaseResults { phase, results })
}

/// The results document of any experiment (or phase view of one), a holdout's synthetic one
/// included, with the plugin-health guardrail per variant (read in parallel with the
/// aggregates; empty where no plugin was called).
pub(crate) async fn results_of(
    state: &AppState,
    experiment: Arc<Experiment>,
) -> Result<Results, ServiceError> {
    let (aggregates, plugin_calls) = futures::try_join!(
        state.store.load_aggregates(&experiment),
        state.store.load_plugin_health(&experiment),
    )?;
    let plugin_health = analysis::plugin_health(&experiment, &plugin_calls);
    let mut results = analyze_all(experiment, vec![(aggregates, state.clock.now())]).await?;
    let mut results = results
        .pop()
        .ok_or_else(|| ServiceError::Internal("no results computed".into()))?;
    results.plugin_health = plugin_health;
    Ok(results)
}

/// Every stored daily snapshot of one phase (default: the current one) through the
/// statistics engine.
#[tracing::instrument(skip(state))]
pub async fn daily(
    state: &AppState,
    key: &str,
    phase: Option<u32>,
) -> Result<DailyResults, ServiceError> {
    let (experiment, phase) = in_phase(state, key, phase)?;
    let snapshots = state.store.load_snapshots(&experiment).await?;
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ServiceError::Internal(Box::new(error)))?;
    let now = state.clock.now();
    // Each day is mature as of its end (the moment its snapshot describes), today as of now.
    let (dates, aggregates): (Vec<String>, Vec<(Aggregates, Timestamp)>) = snapshots
        .into_iter()
        .map(|snapshot| {
            let end = days.end_of(&snapshot.day).map_or(now, |end| end.min(now));
            (snapshot.day, (snapshot.aggregates, end))
        })
        .unzip();
    let results = analyze_all(experiment, aggregates).await?;
    Ok(DailyResults {
        phase,
        days: dates
            .into_iter()
            .zip(results)
            .map(|(date, results)| DayResults { date, results })
            .collect(),
    })
}

/// Takes (or replaces) today's snapshot now and answers it with its results.
#[tracing::instrument(skip(state))]
pub async fn snapshot_now(state: &AppState, key: &str) -> Result<DayResults, ServiceError> {
    let experiment = known_experiment(state, key)?;
    let days = Days::new(&state.settings.experiments.snapshot_time_zone)
        .map_err(|error| ServiceError::Internal(Box::new(error)))?;
    let now = state.clock.now();
    let today = days.day_of(now);
    let snapshot = snapshots::take(state, &experiment, today).await?;
    let mut results = analyze_all(experiment, vec![(snapshot.aggregates, now)]).await?;
    let results = results
        .pop()
        .ok_or_else(|| ServiceError::Internal("no results computed".into()))?;
    Ok(DayResults {
        date: snapshot.day,
        results,
    })
}

/// Results per value of one segment attribute in one phase (default: the current one),
/// adjusted across the slices, with the heterogeneity test.
#[tracing::instrument(skip(state))]
pub async fn segments(
    state: &AppState,
    key: &str,
    attribute: &str,
    phase: Option<u32>,
) -> Result<PhaseSegmentResults, ServiceError> {
    let (experiment, phase) = in_phase(state, key, phase)?;
    let what = format!("experiment `{key}`");
    let results = segments_of(state, experiment, &what, attribute).await?;
    Ok(PhaseSegmentResults { phase, results })
}

/// Results by segment of any experiment (or phase view of one), a holdout's synthetic one
/// included; `what` names it in a 404 as the caller knows it.
pub(crate) async fn segments_of(
    state: &AppState,
    experiment: Arc<Experiment>,
    what: &str,
    attribute: &str,
) -> Result<SegmentResults, ServiceError> {
    if !experiment
        .segment_attributes()
        .any(|known| known == attribute)
    {
        let known: Vec<&str> = experiment.segment_attributes().collect();
        return Err(ServiceError::NotFound {
            what: format!(
                "segment attribute `{attribute}` of {what} (it has: {})",
                known.join(", ")
            ),
        });
    }
    let slices: Vec<(String, Aggregates)> = state
        .store
        .load_slices(&experiment, attribute)
        .await?
        .into_iter()
        .map(|slice| (slice.value, slice.aggregates))
        .collect();
    let attribute = attribute.to_owned();
    tokio::task::spawn_blocking(move || {
        analysis::analyze_segments(&experiment, &attribute, &slices)
    })
    .await
    .map_err(|error| ServiceError::Internal(Box::new(error)))
}
