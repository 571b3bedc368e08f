//! Recording a batch of events in Redis, in three steps of a few round trips each:
//! 1. ids already processed (the global `touchstone:ev:ID` markers) are `Duplicate`;
//! 2. `record_events.lua` counts the rest: on a single Redis ONE call for every experiment
//!    (up to `EVENTS_PER_CALL` events a call), on a Cluster one per experiment (its slot), the
//!    calls sent together over the multiplexed connection. Each call is all or nothing and
//!    de-duplicates by its own seen-id keys, so re-running it after a failure changes nothing;
//! 3. only when every call succeeded, the global markers are written — a marker never hides an
//!    uncounted event, and a failed batch leaves none.

use super::connection::{Handle, store_error};
use super::keys::{self, ExperimentKeys};
use super::{RECORD_EVENTS, RedisStore};
use crate::counting;
use crate::{CountingPlan, EventOutcome, EventsOutcome, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use touchstone_model::OutcomeEvent;

/// Events per script call: bounds one script's run time (Redis is single-threaded).
const EVENTS_PER_CALL: usize = 200;

/// Some events of one experiment, counted in one section of a script call.
struct Section<'a> {
    plan: &'a CountingPlan,
    indices: Vec<usize>,
}

pub(super) async fn record(
    store: &RedisStore,
    plans: &[Arc<CountingPlan>],
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

    let sections: Vec<Section> = plans
        .iter()
        .map(|plan| Section {
            plan: plan.as_ref(),
            indices: fresh
                .iter()
                .copied()
                .filter(|&index| plan.experiment().tracks_event(&events[index].name))
                .collect(),
        })
        .filter(|section| !section.indices.is_empty())
        .collect();
    let one_slot = matches!(handle, Handle::Single(_));
    let calls = pack_calls(sections, one_slot)
        .into_iter()
        .map(|call| count_sections(handle.clone(), events, call));
    let mut counted = vec![0u32; events.len()];
    for results in futures::future::try_join_all(calls).await? {
        for (index, result) in results {
            counted[index] += u32::from(result);
        }
    }

    let ttl = plans
        .iter()
        .map(|plan| plan.plan.seen_ttl_seconds)
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

/// Groups sections into script calls of at most `EVENTS_PER_CALL` events: all experiments
/// together when every key shares one slot (`one_slot`, a single Redis), else one experiment
/// per call. A section too big for one call is split.
fn pack_calls(sections: Vec<Section<'_>>, one_slot: bool) -> Vec<Vec<Section<'_>>> {
    let mut calls: Vec<Vec<Section>> = Vec::new();
    let mut room = 0;
    for section in sections {
        if !one_slot {
            room = 0;
        }
        for chunk in section.indices.chunks(EVENTS_PER_CALL) {
            if room < chunk.len() {
                calls.push(Vec::new());
                room = EVENTS_PER_CALL;
            }
            room -= chunk.len();
            if let Some(call) = calls.last_mut() {
                call.push(Section {
                    plan: section.plan,
                    indices: chunk.to_vec(),
                });
            }
        }
    }
    calls
}

/// Runs the counting script for one call's sections; returns (event index, counted).
async fn count_sections(
    mut handle: Handle,
    events: &[OutcomeEvent],
    sections: Vec<Section<'_>>,
) -> Result<Vec<(usize, bool)>, StoreError> {
    let mut invocation = RECORD_EVENTS.prepare_invoke();
    invocation.arg(sections.len());
    for section in &sections {
        let experiment = section.plan.experiment();
        let encoded = section
            .plan
            .encoded
            .as_deref()
            .ok_or_else(|| StoreError::Corrupt {
                what: format!(
                    "counting plan of `{}` could not be encoded",
                    experiment.key()
                ),
                source: None,
            })?;
        let keys = ExperimentKeys::of(experiment);
        invocation
            .key(keys.counters())
            .arg(encoded)
            .arg(keys.prefix())
            .arg(section.indices.len());
        for &index in &section.indices {
            let event = &events[index];
            invocation
                .key(keys.unit(&event.unit_id))
                .key(keys.seen_event(&event.id))
                .arg(&event.name)
                .arg(event.timestamp.as_millis())
                .arg(event.value.map(|v| v.to_string()).unwrap_or_default());
        }
    }
    let results: Vec<i64> = invocation
        .invoke_async(&mut handle)
        .await
        .map_err(store_error)?;
    let indices: Vec<usize> = sections
        .into_iter()
        .flat_map(|section| section.indices)
        .collect();
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
