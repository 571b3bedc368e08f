//! OpenFeature Remote Evaluation Protocol (OFREP 0.3.0, core API): a flag is an experiment,
//! `context.targetingKey` the unit, the other context keys its attributes. Both evaluations go
//! through [`assign::decide`], the one decision path of `/v1/assign`, so every answer equals
//! that of `/v1/assign` for the same unit, attributes and definitions. Single evaluation records
//! the exposure as an enrolling `/v1/assign` does; bulk evaluation records none (a page
//! evaluates every flag up front; exposure happens on use, `POST /v1/exposures`).

use crate::catalog::Catalog;
use crate::service::assign::{self, AssignRequest, Mode, Outcome};
use crate::state::AppState;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use touchstone_model::{Experiment, Status, Timestamp};

/// Why an evaluation request failed, as the spec's `errorCode`s name it.
#[derive(Debug, thiserror::Error)]
pub enum OfrepError {
    #[error("{0}")]
    Parse(String),
    #[error("context.targetingKey is required and must be a non-empty string (it is the unit id)")]
    TargetingKeyMissing,
    #[error("{0}")]
    InvalidContext(String),
    #[error("flag `{0}` was not found: no experiment has this key")]
    FlagNotFound(String),
}

impl OfrepError {
    /// The spec's `errorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            OfrepError::Parse(_) => "PARSE_ERROR",
            OfrepError::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            OfrepError::InvalidContext(_) => "INVALID_CONTEXT",
            OfrepError::FlagNotFound(_) => "FLAG_NOT_FOUND",
        }
    }
}

/// An evaluation context, checked: the unit and its flat attributes.
#[derive(Debug, Clone)]
pub struct Context {
    pub unit_id: String,
    /// Bulk evaluation only: evaluate only the experiments at this touchpoint.
    pub touchpoint: Option<String>,
    pub attributes: Map<String, Value>,
}

/// The bounds `/v1/assign` applies, for the context.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_string_bytes: usize,
    pub max_attributes: usize,
}

/// Reads `{"context": {...}}`: the targeting key is the unit id; other values must be strings,
/// numbers or booleans (the spec's context is flat; targeting and segments compare scalars).
pub fn parse_context(body: &[u8], bounds: Bounds, bulk: bool) -> Result<Context, OfrepError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|error| OfrepError::Parse(format!("the body is not JSON: {error}")))?;
    let Some(Value::Object(context)) = request.get("context") else {
        return Err(OfrepError::Parse(
            "the body must be an object with a `context` object".into(),
        ));
    };
    let max = bounds.max_string_bytes;
    let mut attributes = context.clone();
    let unit_id = match attributes.remove("targetingKey") {
        Some(Value::String(key)) if !key.is_empty() => key,
        _ => return Err(OfrepError::TargetingKeyMissing),
    };
    if unit_id.len() > max {
        return Err(OfrepError::InvalidContext(format!(
            "context.targetingKey must be at most {max} bytes (limits.max_string_bytes)"
        )));
    }
    let touchpoint = if bulk {
        match attributes.remove("touchpoint") {
            None => None,
            Some(Value::String(touchpoint)) if !touchpoint.is_empty() => Some(touchpoint),
            Some(_) => {
                return Err(OfrepError::InvalidContext(
                    "context.touchpoint must be a non-empty string".into(),
                ));
            }
        }
    } else {
        None
    };
    if attributes.len() > bounds.max_attributes {
        return Err(OfrepError::InvalidContext(format!(
            "at most {} context attributes (assign.max_attributes)",
            bounds.max_attributes
        )));
    }
    for (name, value) in &attributes {
        if name.is_empty() || name.len() > max {
            return Err(OfrepError::InvalidContext(format!(
                "context key names must be 1 to {max} bytes (limits.max_string_bytes)"
            )));
        }
        match value {
            Value::String(text) if text.len() > max => {
                return Err(OfrepError::InvalidContext(format!(
                    "context.{name} must be at most {max} bytes (limits.max_string_bytes)"
                )));
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            _ => {
                return Err(OfrepError::InvalidContext(format!(
                    "context.{name} must be a string, a number or a boolean"
                )));
            }
        }
    }
    Ok(Context {
        unit_id,
        touchpoint,
        attributes,
    })
}

/// One flag's evaluation, shaped as the spec's `evaluationSuccess`. Without `value` the
/// provider returns the code default (ADR 0006).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlagEvaluation {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `SPLIT`: randomized in; `STATIC`: a shipped winner; `DISABLED`: draft, stopped, or the
    /// unit is kept out (traffic, targeting, layer, holdout, plugin).
    pub reason: &'static str,
    /// Flat values only, as the spec requires.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// The bulk answer: every flag, in key order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkEvaluation {
    pub flags: Vec<FlagEvaluation>,
}

/// Evaluates one experiment for the unit and records its exposure as `/v1/assign` does.
pub async fn evaluate(
    state: &AppState,
    key: &str,
    context: Context,
    now: Timestamp,
) -> Result<FlagEvaluation, OfrepError> {
    let catalog = state.catalog.load();
    let experiment = catalog
        .get(key)
        .cloned()
        .ok_or_else(|| OfrepError::FlagNotFound(key.to_owned()))?;
    if !serves(&experiment) {
        return Ok(disabled(&experiment, None));
    }
    let request = request_at(&experiment, context);
    let decision = assign::decide(state, &catalog, &request, Some(key), Mode::Enroll, now).await;
    let mut evaluation = from_decision(&experiment, &decision);
    if decision.store_error.is_some() {
        // The answer stands (assignment is deterministic); the unit is not counted yet.
        evaluation
            .metadata
            .insert("exposure_recorded".into(), Value::Bool(false));
    }
    Ok(evaluation)
}

/// Evaluates every running or shipped experiment (at `context.touchpoint` when given) without
/// recording anything.
pub async fn evaluate_all(state: &AppState, context: Context, now: Timestamp) -> BulkEvaluation {
    let catalog = state.catalog.load();
    let mut by_touchpoint: BTreeMap<&str, Vec<&Arc<Experiment>>> = BTreeMap::new();
    for experiment in served(&catalog, context.touchpoint.as_deref()) {
        by_touchpoint
            .entry(experiment.touchpoint())
            .or_default()
            .push(experiment);
    }
    let mut flags = Vec::new();
    for (touchpoint, experiments) in by_touchpoint {
        let request = AssignRequest {
            unit_id: context.unit_id.clone(),
            touchpoint: touchpoint.to_owned(),
            attributes: context.attributes.clone(),
            enroll: false,
        };
        let decision = assign::decide(state, &catalog, &request, None, Mode::Preview, now).await;
        flags.extend(
            experiments
                .into_iter()
                .map(|experiment| from_decision(experiment, &decision)),
        );
    }
    flags.sort_by(|a, b| a.key.cmp(&b.key));
    BulkEvaluation { flags }
}

/// The bulk answer's entity tag: it changes when any definition does (the catalog version),
/// when a plugin bound to an evaluated touchpoint or its configuration does, and with the
/// context. Computed without evaluating, so a matching `If-None-Match` costs no decision.
pub fn bulk_etag(state: &AppState, context: &Context) -> String {
    let catalog = state.catalog.load();
    let mut hash = Sha256::new();
    hash.update(catalog.version.to_be_bytes());
    let mut touchpoints: Vec<&str> = served(&catalog, context.touchpoint.as_deref())
        .map(|experiment| experiment.touchpoint())
        .collect();
    touchpoints.sort_unstable();
    touchpoints.dedup();
    for touchpoint in touchpoints {
        if let Some((plugin, binding)) = state.plugins.for_touchpoint(touchpoint) {
            hash.update(touchpoint.as_bytes());
            hash.update(plugin.name().as_bytes());
            hash.update(plugin.version().as_bytes());
            hash.update(binding.encoded_config().as_str().as_bytes());
        }
    }
    hash.update(context.unit_id.as_bytes());
    hash.update([0]);
    hash.update(context.touchpoint.as_deref().unwrap_or("").as_bytes());
    hash.update([0]);
    // serde_json's map is ordered by key: the same attributes give the same text.
    hash.update(
        Value::Object(context.attributes.clone())
            .to_string()
            .as_bytes(),
    );
    let digest = hash.finalize();
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header value names `etag` (a list, weak tags, or `*`).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// The experiments bulk evaluation answers for: running and shipped ones.
fn served<'a>(
    catalog: &'a Catalog,
    touchpoint: Option<&'a str>,
) -> impl Iterator<Item = &'a Arc<Experiment>> {
    catalog
        .all()
        .into_iter()
        .filter(|experiment| serves(experiment))
        .filter(move |experiment| touchpoint.is_none_or(|t| experiment.touchpoint() == t))
}

fn serves(experiment: &Experiment) -> bool {
    experiment.is_running() || experiment.status() == Status::Shipped
}

fn request_at(experiment: &Experiment, context: Context) -> AssignRequest {
    AssignRequest {
        unit_id: context.unit_id,
        touchpoint: experiment.touchpoint().to_owned(),
        attributes: context.attributes,
        enroll: true,
    }
}

fn from_decision(experiment: &Experiment, decision: &Outcome) -> FlagEvaluation {
    let found = decision
        .assignments
        .iter()
        .find(|assignment| assignment.experiment == experiment.key());
    match found {
        Some(assignment) => FlagEvaluation {
            key: experiment.key().to_owned(),
            value: Some(assignment.payload.clone()),
            variant: Some(assignment.variant.clone()),
            reason: if assignment.shipped {
                "STATIC"
            } else {
                "SPLIT"
            },
            metadata: metadata(experiment),
        },
        None => disabled(experiment, decision.holdout.as_deref()),
    }
}

/// No value: the provider serves the code default, which is what the shop shows to a unit
/// outside the experiment.
fn disabled(experiment: &Experiment, holdout: Option<&str>) -> FlagEvaluation {
    let mut metadata = metadata(experiment);
    if let Some(holdout) = holdout {
        metadata.insert("holdout".into(), Value::String(holdout.to_owned()));
    }
    FlagEvaluation {
        key: experiment.key().to_owned(),
        value: None,
        variant: None,
        reason: "DISABLED",
        metadata,
    }
}

fn metadata(experiment: &Experiment) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("experiment".into(), experiment.key().into());
    metadata.insert("touchpoint".into(), experiment.touchpoint().into());
    metadata.insert("phase".into(), experiment.phase().into());
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        max_string_bytes: 16,
        max_attributes: 2,
    };

    fn code(body: &str) -> &'static str {
        parse_context(body.as_bytes(), BOUNDS, false)
            .map(|_| "ok")
            .unwrap_or_else(|error| error.code())
    }

    #[test]
    fn the_context_is_checked_with_the_spec_error_codes() {
        assert_eq!(
            code(r#"{"context": {"targetingKey": "u-1", "country": "DE"}}"#),
            "ok"
        );
        assert_eq!(code("not json"), "PARSE_ERROR");
        assert_eq!(code(r#"{"ctx": {}}"#), "PARSE_ERROR");
        assert_eq!(code(r#"{"context": {}}"#), "TARGETING_KEY_MISSING");
        assert_eq!(
            code(r#"{"context": {"targetingKey": 7}}"#),
            "TARGETING_KEY_MISSING"
        );
        assert_eq!(
            code(r#"{"context": {"targetingKey": ""}}"#),
            "TARGETING_KEY_MISSING"
        );
        assert_eq!(
            code(r#"{"context": {"targetingKey": "u", "cart": {"value": 3}}}"#),
            "INVALID_CONTEXT"
        );
        assert_eq!(
            code(r#"{"context": {"targetingKey": "u", "a": 1, "b": 2, "c": 3}}"#),
            "INVALID_CONTEXT"
        );
        assert_eq!(
            code(r#"{"context": {"targetingKey": "a-unit-id-longer-than-16"}}"#),
            "INVALID_CONTEXT"
        );
    }

    #[test]
    fn bulk_takes_the_touchpoint_out_of_the_attributes() {
        let body = br#"{"context": {"targetingKey": "u", "touchpoint": "pdp.gallery", "device": "mobile"}}"#;
        let context = parse_context(body, BOUNDS, true).expect("a valid context");
        assert_eq!(context.touchpoint.as_deref(), Some("pdp.gallery"));
        assert_eq!(context.attributes.len(), 1);
        let single = parse_context(body, BOUNDS, false).expect("a valid context");
        assert_eq!(single.touchpoint, None);
        assert_eq!(single.attributes.len(), 2);
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
