//! Recording a batch of events in Redis, in three steps of a few round trips each:
//! 1. ids already processed (the global `touchstone:ev:ID` markers) are `Duplicate`;
//! 2. per experiment, ONE `record_events.lua` call with all of that experiment's events, the
//!    calls sent together over the multiplexed connection; each script de-duplicates by its
//!    own seen-id keys, so re-running it after a partial failure changes nothing;
//! 3. only then the global markers are written — a marker never hides an uncounted event.

use super::connection::{Handle, store_error};
use super::keys::{self, ExperimentKeys};
use super::{RECORD_EVENTS, RedisStore};
use crate::counting::{self, Plan};
use crate::{EventOutcome, EventsOutcome, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use touchstone_model::{Experiment, OutcomeEvent};

/// Events per script call: bounds one script's run time (Redis is single-threaded).
const EVENTS_PER_CALL: usize = 200;

pub(super) async fn record(
    store: &RedisStore,
    experiments: &[Arc<Experiment>],
    events: &[OutcomeEvent],
) -> Result<EventsOutcome, StoreError> {
    let handle = store.handle().await?;
    // An id repeated inside the batch is a duplicate of its first occurrence.
    let mut first_of_id: HashMap<&str, usize> = HashMap::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if !first_of_id.contains_key(event.id.as_str()) {
            first_of_id.insert(&event.id, index);
            fresh.push(index);
        }
    }
    let processed = already_processed(&handle, events, &fresh).await?;
    let fresh: Vec<usize> = fresh
        .into_iter()
        .zip(processed)
        .filter_map(|(index, seen)| (!seen).then_some(index))
        .collect();

    let plans: Vec<Plan> = experiments.iter().map(|e| Plan::of(e)).collect();
    let mut calls = Vec::new();
    for (experiment, plan) in experiments.iter().zip(&plans) {
        let tracked: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&index| experiment.tracks_event(&events[index].name))
            .collect();
        for chunk in tracked.chunks(EVENTS_PER_CALL) {
            calls.push(count_in_experiment(
                handle.clone(),
                experiment,
                plan,
                events,
                chunk.to_vec(),
            ));
        }
    }
    let mut counted = vec![0u32; events.len()];
    for results in futures::future::try_join_all(calls).await? {
        for (index, result) in results {
            counted[index] += u32::from(result);
        }
    }

    let ttl = plans
        .iter()
        .map(|plan| plan.seen_ttl_seconds)
        .max()
        .unwrap_or(counting::DEDUP_GRACE_SECONDS);
    mark_processed(&handle, events, &fresh, ttl).await?;

    let mut outcomes = vec![EventOutcome::Duplicate; events.len()];
    for index in fresh {
        outcomes[index] = EventOutcome::Accepted {
            counted: counted[index],
        };
    }
    Ok(EventsOutcome { outcomes })
}

/// Runs the counting script for some events of one experiment; returns (event index, counted).
async fn count_in_experiment(
    mut handle: Handle,
    experiment: &Experiment,
    plan: &Plan,
    events: &[OutcomeEvent],
    indices: Vec<usize>,
) -> Result<Vec<(usize, bool)>, StoreError> {
    let keys = ExperimentKeys::of(experiment);
    let plan_json = serde_json::to_string(plan).map_err(|error| StoreError::Corrupt {
        what: format!("counting plan of `{}`", experiment.key()),
        source: Some(Box::new(error)),
    })?;
    let mut invocation = RECORD_EVENTS.prepare_invoke();
    invocation
        .key(keys.counters())
        .arg(plan_json)
        .arg(keys.prefix());
    for &index in &indices {
        let event = &events[index];
        invocation
            .key(keys.unit(&event.unit_id))
            .key(keys.seen_event(&event.id))
            .arg(&event.name)
            .arg(event.timestamp.as_millis())
            .arg(event.value.map(|v| v.to_string()).unwrap_or_default());
    }
    let results: Vec<i64> = invocation
        .invoke_async(&mut handle)
        .await
        .map_err(store_error)?;
    if results.len() != indices.len() {
        return Err(StoreError::Corrupt {
            what: format!(
                "record_events.lua answered {} results for {} events",
                results.len(),
                indices.len()
            ),
            source: None,
        });
    }
    Ok(indices
        .into_iter()
        .zip(results)
        .map(|(index, result)| (index, result == 1))
        .collect())
}

/// Whether each of `events[indices]` was fully processed by an earlier call.
async fn already_processed(
    handle: &Handle,
    events: &[OutcomeEvent],
    indices: &[usize],
) -> Result<Vec<bool>, StoreError> {
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let markers = indices
        .iter()
        .map(|&i| keys::event_processed(&events[i].id));
    match handle {
        Handle::Single(_) => {
            let mut handle = handle.clone();
            let found: Vec<Option<u8>> = redis::cmd("MGET")
                .arg(markers.collect::<Vec<_>>())
                .query_async(&mut handle)
                .await
                .map_err(store_error)?;
            Ok(found.into_iter().map(|marker| marker.is_some()).collect())
        }
        // Markers spread over the cluster's slots: one EXISTS each, sent together.
        Handle::Cluster(_) => {
            let checks = markers.map(|marker| {
                let mut handle = handle.clone();
                async move {
                    let exists: bool = redis::cmd("EXISTS")
                        .arg(marker)
                        .query_async(&mut handle)
                        .await
                        .map_err(store_error)?;
                    Ok::<_, StoreError>(exists)
                }
            });
            futures::future::try_join_all(checks).await
        }
    }
}

/// Writes the global processed markers of `events[indices]`.
async fn mark_processed(
    handle: &Handle,
    events: &[OutcomeEvent],
    indices: &[usize],
    ttl_seconds: u64,
) -> Result<(), StoreError> {
    if indices.is_empty() {
        return Ok(());
    }
    let markers = indices
        .iter()
        .map(|&i| keys::event_processed(&events[i].id));
    match handle {
        Handle::Single(_) => {
            let mut pipe = redis::pipe();
            for marker in markers {
                pipe.cmd("SET")
                    .arg(marker)
                    .arg(1)
                    .arg("EX")
                    .arg(ttl_seconds)
                    .ignore();
            }
            let mut handle = handle.clone();
            let () = pipe.query_async(&mut handle).await.map_err(store_error)?;
            Ok(())
        }
        Handle::Cluster(_) => {
            let writes = markers.map(|marker| {
                let mut handle = handle.clone();
                async move {
                    let () = redis::cmd("SET")
                        .arg(marker)
                        .arg(1)
                        .arg("EX")
                        .arg(ttl_seconds)
                        .query_async(&mut handle)
                        .await
                        .map_err(store_error)?;
                    Ok::<_, StoreError>(())
                }
            });
            futures::future::try_join_all(writes).await.map(|_| ())
        }
    }
}
