//! Recording a batch of outcome events: each is decoded on its own (a bad one is reported by
//! index and field while the rest are recorded), then the valid ones go to the store in one
//! call, counted for every running experiment (and running holdout) the unit is exposed to.

use crate::error::ServiceError;
use crate::observe;
use crate::service::event_plugin;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use touchstone_model::{Experiment, MetricKind, OutcomeEvent, Timestamp};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    /// Kept as raw text and decoded one by one (`OutcomeEvent::from_raw`), so one bad event
    /// does not refuse the batch.
    #[schema(value_type = Vec<EventInput>)]
    pub events: Vec<Box<RawValue>>,
}

/// One outcome event as a client sends it; the fields `OutcomeEvent::from_raw` reads.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: events are decoded from JSON values one by one
pub struct EventInput {
    /// Unique per event: a retried id is counted once.
    #[schema(example = "order-1001-purchase")]
    id: String,
    #[schema(example = "visitor-42")]
    unit_id: String,
    /// A journey stage or a metric's event.
    #[schema(example = "purchase")]
    name: String,
    /// A number from -1e15 to 1e15 (revenue, an NPS answer): counters keep sums of squares,
    /// which must stay finite. Beyond the bound the event is refused by index, field `value`.
    #[schema(minimum = -1e15, maximum = 1e15)]
    value: Option<f64>,
    /// When it happened (RFC 3339 or epoch milliseconds); default: when it was received.
    #[schema(value_type = Option<String>, example = "2026-11-23T10:15:00Z")]
    timestamp: Option<String>,
    /// For the event plugin; not counted.
    #[schema(value_type = Option<Object>)]
    attributes: Option<Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventError {
    pub index: usize,
    pub field: &'static str,
    pub error: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsResponse {
    /// Stored for the first time.
    pub accepted: usize,
    /// Seen before (a retry); nothing changed.
    pub duplicates: usize,
    /// Refused, by index in the request.
    pub errors: Vec<EventError>,
}

// A span per request at DEBUG, not INFO: at INFO the log subscriber formats its fields for every
// batch whether or not anything inside logs (the request span already carries the request id).
#[tracing::instrument(level = "debug", skip_all, fields(batch = request.events.len()))]
pub async fn record(
    state: &AppState,
    request: EventsRequest,
    now: Timestamp,
) -> Result<EventsResponse, ServiceError> {
    let limits = &state.settings.events;
    if request.events.len() > limits.max_batch {
        return Err(ServiceError::TooLarge {
            limit: "events.max_batch",
            message: format!(
                "{} events in one request; at most {} are accepted",
                request.events.len(),
                limits.max_batch
            ),
        });
    }
    let skew_ms = limits.max_future_skew_seconds.saturating_mul(1000);
    let mut valid = Vec::with_capacity(request.events.len());
    let mut errors = Vec::new();
    for (index, raw) in request.events.iter().enumerate() {
        match OutcomeEvent::from_raw(raw, now, skew_ms) {
            Ok(event) => valid.push((index, event)),
            Err(problem) => errors.push(EventError {
                index,
                field: problem.field,
                error: problem.message,
            }),
        }
    }
    let valid = event_plugin::screen(state, valid, &request.events, &mut errors);
    let catalog = state.catalog.load();
    let valid = check_survey_answers(catalog.counted(), valid, &mut errors);
    errors.sort_by_key(|error| error.index);
    if valid.is_empty() {
        observe::events(0, 0, errors.len());
        return Ok(EventsResponse {
            accepted: 0,
            duplicates: 0,
            errors,
        });
    }
    let outcome = state
        .store
        .record_planned_events(catalog.counting_plans(), &valid)
        .await
        .inspect_err(|error| observe::store_failure("record_events", error))?;
    observe::events(outcome.accepted(), outcome.duplicates(), errors.len());
    Ok(EventsResponse {
        accepted: outcome.accepted(),
        duplicates: outcome.duplicates(),
        errors,
    })
}

/// Refuses, by index, events that a running experiment's NPS metric would read but that carry
/// no whole-number answer from 0 to 10: counted, such an answer would silently skew the score.
fn check_survey_answers(
    running: &[Arc<Experiment>],
    events: Vec<(usize, OutcomeEvent)>,
    errors: &mut Vec<EventError>,
) -> Vec<OutcomeEvent> {
    events
        .into_iter()
        .filter_map(|(index, event)| {
            let survey = running.iter().find_map(|experiment| {
                experiment
                    .metrics()
                    .iter()
                    .find(|metric| metric.kind == MetricKind::Nps && metric.event == event.name)
                    .map(|metric| (experiment.key(), metric.key.as_str()))
            });
            let answer_ok = event
                .value
                .is_some_and(|value| (0.0..=10.0).contains(&value) && value.fract() == 0.0);
            match survey {
                Some((experiment, metric)) if !answer_ok => {
                    errors.push(EventError {
                        index,
                        field: "value",
                        error: format!(
                            "`{}` is an NPS answer (metric `{metric}` of experiment \
                             `{experiment}`): it needs a whole number from 0 to 10 in `value`",
                            event.name
                        ),
                    });
                    None
                }
                _ => Some(event),
            }
        })
        .collect()
}
