//! Recording a batch of events in Redis. The guarantee, on both paths: a processed marker
//! (`touchstone:ev:ID`, which makes a retried id answer `Duplicate`) is never written before
//! every experiment tracking the event counted it — so a marker never hides an uncounted
//! event, and a failed batch is retried by the client and counted exactly once.
//!
//! - Single Redis (every key in one slot): one `record_events.lua` call counts whole events —
//!   each event with every experiment that tracks it, up to `EVENTS_PER_CALL` events a call —
//!   and claims their markers itself (`SET … NX`) in the same all-or-nothing step as the
//!   counting: one round trip, a marker exactly where the counting happened. The marker is then
//!   the only per-id guard: no per-experiment seen-id is written (it would guard nothing the
//!   marker does not, and cost a key per repeatable event). Markers carry no TTL there: the
//!   call queues them by the hour their time is up, and the sweeper deletes them
//!   (`marker_expiry.rs`).
//! - Cluster (a script may touch one slot only; markers are spread over every node): 1. ids
//!   already marked are `Duplicate`; 2. one script call per experiment (its slot), sent
//!   together over the multiplexed connection, each all or nothing and de-duplicated by its own
//!   seen-id keys, so re-running one after a failure changes nothing; 3. only when every call
//!   succeeded, the markers are written.

use super::connection::{Handle, store_error};
use super::keys::{self, ExperimentKeys};
use super::marker_expiry;
use super::script_call::{self, Args};
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

/// One script call: the events whose markers it checks and writes (single Redis only) and the
/// sections it counts.
struct Call<'a> {
    marked: Vec<usize>,
    sections: Vec<Section<'a>>,
}

/// What one call answered: per marked event whether it was already processed, and per section
/// event whether its experiment counted it.
struct CallResult {
    duplicates: Vec<(usize, bool)>,
    counted: Vec<(usize, bool)>,
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
    let ttl = plans
        .iter()
        .map(|plan| plan.plan.seen_ttl_seconds)
        .max()
        .unwrap_or(counting::DEDUP_GRACE_SECONDS);

    // On a single Redis the script checks and writes the markers itself; on a Cluster they are
    // checked here and written below, once every call succeeded.
    let one_slot = matches!(handle, Handle::Single(_));
    let fresh = if one_slot {
        fresh
    } else {
        let processed = already_processed(&handle, events, &fresh).await?;
        fresh
            .into_iter()
            .zip(processed)
            .filter_map(|(index, seen)| (!seen).then_some(index))
            .collect()
    };
    let calls = if one_slot {
        whole_event_calls(plans, events, &fresh)
    } else {
        per_experiment_calls(plans, events, &fresh)
    };
    // The queue the claimed markers join (single Redis): the sweeper deletes them when it is due.
    let marker_hour = marker_expiry::hour_of_expiry(marker_expiry::wall_clock(), ttl);
    let calls = calls
        .into_iter()
        .map(|call| count_call(handle.clone(), events, call, marker_hour));
    let mut counted = vec![0u32; events.len()];
    let mut duplicate = vec![false; events.len()];
    for result in futures::future::try_join_all(calls).await? {
        for (index, was_processed) in result.duplicates {
            duplicate[index] = was_processed;
        }
        for (index, result) in result.counted {
            counted[index] += u32::from(result);
        }
    }
    if !one_slot {
        mark_processed(&handle, events, &fresh, ttl).await?;
    }

    let mut outcomes = vec![EventOutcome::Duplicate; events.len()];
    for index in fresh {
        if !duplicate[index] {
            outcomes[index] = EventOutcome::Accepted {
                counted: counted[index],
            };
        }
    }
    Ok(EventsOutcome { outcomes })
}

/// Single Redis: calls of whole events — each event with a section entry for every experiment
/// that tracks it, and its marker — at most `EVENTS_PER_CALL` section entries (and markers) a
/// call. An event is never split between calls, so its marker is written in the call that
/// counts it everywhere.
fn whole_event_calls<'a>(
    plans: &'a [Arc<CountingPlan>],
    events: &[OutcomeEvent],
    fresh: &[usize],
) -> Vec<Call<'a>> {
    let mut chunks: Vec<Vec<(usize, Vec<usize>)>> = Vec::new();
    let mut room = 0;
    for &index in fresh {
        let tracking: Vec<usize> = plans
            .iter()
            .enumerate()
            .filter(|(_, plan)| plan.experiment().tracks_event(&events[index].name))
            .map(|(at, _)| at)
            .collect();
        let size = tracking.len().max(1);
        if room < size {
            chunks.push(Vec::new());
            room = EVENTS_PER_CALL.max(size);
        }
        room -= size;
        if let Some(chunk) = chunks.last_mut() {
            chunk.push((index, tracking));
        }
    }
    chunks
        .into_iter()
        .map(|chunk| {
            let sections = plans
                .iter()
                .enumerate()
                .map(|(at, plan)| Section {
                    plan: plan.as_ref(),
                    indices: chunk
                        .iter()
                        .filter(|(_, tracking)| tracking.contains(&at))
                        .map(|(index, _)| *index)
                        .collect(),
                })
                .filter(|section| !section.indices.is_empty())
                .collect();
            Call {
                marked: chunk.into_iter().map(|(index, _)| index).collect(),
                sections,
            }
        })
        .collect()
}

/// Cluster: one call per experiment (its slot), split past `EVENTS_PER_CALL` events; no
/// markers inside (they live on other slots).
fn per_experiment_calls<'a>(
    plans: &'a [Arc<CountingPlan>],
    events: &[OutcomeEvent],
    fresh: &[usize],
) -> Vec<Call<'a>> {
    let mut calls = Vec::new();
    for plan in plans {
        let indices: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&index| plan.experiment().tracks_event(&events[index].name))
            .collect();
        for chunk in indices.chunks(EVENTS_PER_CALL) {
            calls.push(Call {
                marked: Vec::new(),
                sections: vec![Section {
                    plan: plan.as_ref(),
                    indices: chunk.to_vec(),
                }],
            });
        }
    }
    calls
}

/// Runs the counting script for one call.
async fn count_call(
    mut handle: Handle,
    events: &[OutcomeEvent],
    call: Call<'_>,
    marker_hour: i64,
) -> Result<CallResult, StoreError> {
    let entries: usize = call.sections.iter().map(|s| s.indices.len()).sum();
    let mut keys = Args::with_capacity(call.marked.len() + call.sections.len() + 2 * entries + 2);
    let mut args = Args::with_capacity(3 + 3 * call.sections.len() + 4 * entries);
    args.push_display(call.sections.len())
        .push_display(call.marked.len())
        .push_display(marker_hour);
    // The event's marker number in this call (1-based, as the script reads it; 0 for none).
    let mut marker_of: HashMap<usize, usize> = HashMap::with_capacity(call.marked.len());
    for (at, &index) in call.marked.iter().enumerate() {
        keys.push_display(keys::event_processed_key(&events[index].id));
        marker_of.insert(index, at + 1);
    }
    if !call.marked.is_empty() {
        keys.push(keys::marker_queue(marker_hour))
            .push(keys::MARKER_HOURS);
    }
    for section in &call.sections {
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
        let experiment_keys = ExperimentKeys::of(experiment);
        keys.push(experiment_keys.counters());
        args.push(encoded)
            .push(experiment_keys.prefix())
            .push_display(section.indices.len());
        for &index in &section.indices {
            let event = &events[index];
            keys.push_display(experiment_keys.unit_key(&event.unit_id));
            // A marked event's marker is its guard against a retry (see the script); only
            // unmarked ones (a Cluster's) need a seen-id.
            let marker = marker_of.get(&index).copied().unwrap_or(0);
            if marker == 0 && section.plan.plan.needs_seen_key(&event.name) {
                keys.push_display(experiment_keys.seen_event_key(&event.id));
            }
            args.push_display(marker)
                .push(&event.name)
                .push_display(event.timestamp.as_millis());
            match event.value {
                Some(value) => args.push_display(value),
                None => args.push(""),
            };
        }
    }
    let results: Vec<i64> = script_call::invoke(&RECORD_EVENTS, &keys, &args, &mut handle)
        .await
        .map_err(store_error)?;
    let counted: Vec<usize> = call
        .sections
        .into_iter()
        .flat_map(|section| section.indices)
        .collect();
    if results.len() != call.marked.len() + counted.len() {
        return Err(StoreError::Corrupt {
            what: format!(
                "record_events.lua answered {} results for {} markers and {} events",
                results.len(),
                call.marked.len(),
                counted.len()
            ),
            source: None,
        });
    }
    let (duplicates, results) = results.split_at(call.marked.len());
    Ok(CallResult {
        duplicates: call
            .marked
            .into_iter()
            .zip(duplicates)
            .map(|(index, &result)| (index, result == 1))
            .collect(),
        counted: counted
            .into_iter()
            .zip(results)
            .map(|(index, &result)| (index, result == 1))
            .collect(),
    })
}

/// Cluster: whether each of `events[indices]` was fully processed by an earlier call. The
/// markers spread over the cluster's slots: one EXISTS each, sent together.
async fn already_processed(
    handle: &Handle,
    events: &[OutcomeEvent],
    indices: &[usize],
) -> Result<Vec<bool>, StoreError> {
    let checks = indices.iter().map(|&index| {
        let mut handle = handle.clone();
        async move {
            let exists: bool = redis::cmd("EXISTS")
                .arg(keys::event_processed(&events[index].id))
                .query_async(&mut handle)
                .await
                .map_err(store_error)?;
            Ok::<_, StoreError>(exists)
        }
    });
    futures::future::try_join_all(checks).await
}

/// Cluster: writes the processed markers of `events[indices]`, once every call succeeded.
async fn mark_processed(
    handle: &Handle,
    events: &[OutcomeEvent],
    indices: &[usize],
    ttl_seconds: u64,
) -> Result<(), StoreError> {
    let writes = indices.iter().map(|&index| {
        let mut handle = handle.clone();
        async move {
            let () = redis::cmd("SET")
                .arg(keys::event_processed(&events[index].id))
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

#[cfg(test)]
mod tests {
    use super::*;
    use touchstone_model::{Experiment, ExperimentSpec, Timestamp};

    fn plan(key: &str, journey: &[&str]) -> Arc<CountingPlan> {
        let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
            "key": key,
            "touchpoint": "checkout",
            "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
            "journey": journey,
            "status": "running",
        }))
        .expect("spec parses");
        let experiment = Experiment::new(spec).expect("spec is valid");
        Arc::new(CountingPlan::compile(Arc::new(experiment)))
    }

    fn event(n: usize, name: &str) -> OutcomeEvent {
        OutcomeEvent {
            id: format!("e{n}"),
            unit_id: format!("u{n}"),
            name: name.to_owned(),
            value: None,
            timestamp: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn single_redis_calls_hold_whole_events_within_the_per_call_bound() {
        // Three experiments track `purchase`, one `view`; some events no experiment tracks.
        let plans = [
            plan("a", &["view", "purchase"]),
            plan("b", &["purchase"]),
            plan("c", &["purchase"]),
        ];
        let names = ["purchase", "view", "other"];
        let events: Vec<OutcomeEvent> = (0..400).map(|n| event(n, names[n % 3])).collect();
        let fresh: Vec<usize> = (0..events.len()).collect();
        let calls = whole_event_calls(&plans, &events, &fresh);
        assert!(calls.len() > 1, "the batch needs several calls");

        let mut marked_in = vec![None; events.len()];
        for (at, call) in calls.iter().enumerate() {
            let entries: usize = call.sections.iter().map(|s| s.indices.len()).sum();
            assert!(entries <= EVENTS_PER_CALL && call.marked.len() <= EVENTS_PER_CALL);
            for &index in &call.marked {
                assert_eq!(
                    marked_in[index].replace(at),
                    None,
                    "event {index} marked twice"
                );
            }
            for section in &call.sections {
                for index in &section.indices {
                    // Counted only in the call that writes its marker.
                    assert!(
                        call.marked.contains(index),
                        "event {index} split from its marker"
                    );
                }
            }
            // Every experiment that tracks a marked event counts it in this call.
            for &index in &call.marked {
                let tracking = plans
                    .iter()
                    .filter(|plan| plan.experiment().tracks_event(&events[index].name))
                    .count();
                let counting = call
                    .sections
                    .iter()
                    .filter(|section| section.indices.contains(&index))
                    .count();
                assert_eq!(counting, tracking, "event {index}");
            }
        }
        assert!(
            marked_in.iter().all(Option::is_some),
            "every event is marked"
        );
    }
}
