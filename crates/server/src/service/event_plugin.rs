//! The event stream's plugin (bound to the `_events` pseudo-touchpoint): validates, enriches
//! or maps raw events to journey stages before they are counted, in one call per batch.

use crate::observe;
use crate::plugins::{Binding, EVENTS_TOUCHPOINT};
use crate::service::events::EventError;
use crate::settings::EventFailurePolicy;
use crate::state::AppState;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::time::Instant;
use touchstone_model::{OutcomeEvent, Timestamp};
use touchstone_plugin_host::{Event, EventContext, EventDecision, Hook, LoadedPlugin};

/// Passes `valid` (each with its index in the request and its raw JSON) through the event
/// plugin, if one is bound. Returns the events to count; refusals go to `errors`.
pub fn screen(
    state: &AppState,
    valid: Vec<(usize, OutcomeEvent)>,
    raw: &[Box<RawValue>],
    errors: &mut Vec<EventError>,
) -> Vec<(usize, OutcomeEvent)> {
    let Some((plugin, binding)) = state.plugins.for_touchpoint(EVENTS_TOUCHPOINT) else {
        return valid;
    };
    if !plugin.has_hook(Hook::Event) || valid.is_empty() {
        return valid;
    }
    match decide(&plugin, &binding, &valid, raw) {
        Ok(decisions) => apply(valid, decisions, errors),
        Err(()) => match state.settings.plugins.on_event_failure {
            EventFailurePolicy::Accept => valid,
            EventFailurePolicy::Reject => {
                errors.extend(valid.into_iter().map(|(index, _)| EventError {
                    index,
                    field: "event",
                    error: "the event plugin failed and plugins.on_event_failure is `reject`; retry later".into(),
                }));
                Vec::new()
            }
        },
    }
}

fn decide(
    plugin: &LoadedPlugin,
    binding: &Binding,
    valid: &[(usize, OutcomeEvent)],
    raw: &[Box<RawValue>],
) -> Result<Vec<EventDecision>, ()> {
    let events = valid
        .iter()
        .map(|(index, event)| Event {
            id: event.id.clone(),
            unit_id: event.unit_id.clone(),
            name: event.name.clone(),
            value: event.value,
            timestamp: event.timestamp.as_millis(),
            attributes: raw
                .get(*index)
                .map(|raw| attributes_of(raw.as_ref()))
                .unwrap_or_default(),
        })
        .collect();
    let context = EventContext {
        events,
        config: &binding.config,
    };
    let started = Instant::now();
    let mut session = plugin.session();
    let answer = session.event(&context);
    observe::plugin_call(
        plugin.name(),
        "event",
        answer.is_ok(),
        started.elapsed(),
        session.last_fuel(),
    );
    answer.map_err(|_| ())
}

fn apply(
    valid: Vec<(usize, OutcomeEvent)>,
    decisions: Vec<EventDecision>,
    errors: &mut Vec<EventError>,
) -> Vec<(usize, OutcomeEvent)> {
    let mut kept = Vec::with_capacity(valid.len());
    for ((index, event), decision) in valid.into_iter().zip(decisions) {
        match decision {
            EventDecision::Accept => kept.push((index, event)),
            EventDecision::Reject { reason } => errors.push(EventError {
                index,
                field: "event",
                error: format!("rejected by the event plugin: {reason}"),
            }),
            EventDecision::Rewrite { event: rewritten } => match rewrite(&event, rewritten) {
                Some(event) => kept.push((index, event)),
                None => errors.push(EventError {
                    index,
                    field: "name",
                    error: "the event plugin rewrote it into an invalid event".into(),
                }),
            },
        }
    }
    kept
}

/// The rewritten event, if it is still a valid one (the host already refuses changed ids).
fn rewrite(original: &OutcomeEvent, rewritten: Event) -> Option<OutcomeEvent> {
    let valid_name =
        !rewritten.name.is_empty() && rewritten.name.len() <= touchstone_model::event::MAX_TEXT_LEN;
    let valid_value = rewritten.value.is_none_or(f64::is_finite);
    (valid_name && valid_value).then(|| OutcomeEvent {
        id: original.id.clone(),
        unit_id: original.unit_id.clone(),
        name: rewritten.name,
        value: rewritten.value,
        timestamp: Timestamp::from_millis(rewritten.timestamp),
    })
}

/// An event's `attributes` object (empty when it has none): the only part of the raw event the
/// plugin gets beyond the decoded fields. The event was decoded already, so its text is a
/// valid object and `attributes`, if present, an object or `null`. A repeated key is read as
/// a `Value` reads it (the last one wins), as the decoder did.
fn attributes_of(raw: &RawValue) -> Map<String, Value> {
    #[derive(Deserialize)]
    struct WithAttributes {
        #[serde(default)]
        attributes: Option<Map<String, Value>>,
    }
    match serde_json::from_str::<WithAttributes>(raw.get()) {
        Ok(event) => event.attributes.unwrap_or_default(),
        Err(_) => serde_json::from_str::<Value>(raw.get())
            .ok()
            .and_then(|event| event.get("attributes").and_then(Value::as_object).cloned())
            .unwrap_or_default(),
    }
}
