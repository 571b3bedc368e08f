//! Exposure on use (`POST /v1/exposures`): a page reports that it showed a unit its variant.
//! The server decides the unit's variant again through the one decision path and records the
//! exposure only when it agrees, so a client can never choose its variant or inflate another
//! arm. Each exposure is checked on its own (refused by index and field, as `/v1/events`).
//! An exposure is recorded once per unit and phase (first exposure wins), so a retried id —
//! or the same unit shown the variant again — is a duplicate.

use crate::error::ServiceError;
use crate::service::assign::{self, AssignRequest, Mode};
use crate::service::events::EventError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use touchstone_model::Timestamp;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposuresRequest {
    /// Decoded one by one, so one bad exposure does not refuse the batch.
    #[schema(value_type = Vec<ExposureInput>)]
    pub exposures: Vec<Value>,
}

/// One exposure as a client reports it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureInput {
    /// Unique per exposure report (the client's retries carry the same id).
    #[schema(example = "5f0c2d9e8b7a4c1d9e3f2a1b0c9d8e7f")]
    pub id: String,
    #[schema(example = "visitor-42")]
    pub unit_id: String,
    #[schema(example = "pdp-gallery")]
    pub experiment: String,
    /// The variant the page showed; it must be the one the server decides.
    #[schema(example = "grid_zoom")]
    pub variant: String,
    /// The attributes the variant was decided with (targeting, segments, plugin).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// When the page showed it (RFC 3339 or epoch milliseconds); default: when it was received.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExposuresResponse {
    /// Recorded for the first time.
    pub accepted: usize,
    /// Already recorded for this unit (a retry, or a second view); nothing changed.
    pub duplicates: usize,
    /// Refused, by index in the request.
    pub errors: Vec<EventError>,
}

// DEBUG, as `events::record`: no per-request formatting at the production level.
#[tracing::instrument(level = "debug", skip_all, fields(batch = request.exposures.len()))]
pub async fn record(
    state: &AppState,
    request: ExposuresRequest,
    now: Timestamp,
) -> Result<ExposuresResponse, ServiceError> {
    let max_batch = state.settings.events.max_batch;
    if request.exposures.len() > max_batch {
        return Err(ServiceError::TooLarge {
            limit: "events.max_batch",
            message: format!(
                "{} exposures in one request; at most {max_batch} are accepted",
                request.exposures.len()
            ),
        });
    }
    let mut response = ExposuresResponse {
        accepted: 0,
        duplicates: 0,
        errors: Vec::new(),
    };
    for (index, raw) in request.exposures.into_iter().enumerate() {
        let refused = |field: &'static str, error: String| EventError {
            index,
            field,
            error,
        };
        let exposure = match decode(state, raw, now) {
            Ok(exposure) => exposure,
            Err((field, error)) => {
                response.errors.push(refused(field, error));
                continue;
            }
        };
        match record_one(state, exposure, now).await? {
            Ok(true) => response.accepted += 1,
            Ok(false) => response.duplicates += 1,
            Err((field, error)) => response.errors.push(refused(field, error)),
        }
    }
    Ok(response)
}

type Refusal = (&'static str, String);

fn decode(state: &AppState, raw: Value, now: Timestamp) -> Result<ExposureInput, Refusal> {
    let exposure: ExposureInput = serde_path_to_error::deserialize(raw).map_err(|error| {
        let message = error.inner().to_string();
        // A missing field has no path: serde names it in the message.
        let path = error.path().to_string();
        let named = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .unwrap_or(path.split('.').next().unwrap_or(""));
        const FIELDS: [&str; 6] = [
            "id",
            "unit_id",
            "experiment",
            "variant",
            "attributes",
            "timestamp",
        ];
        let field = FIELDS
            .into_iter()
            .find(|field| *field == named)
            .unwrap_or("exposure");
        (field, message)
    })?;
    let max = state.settings.limits.max_string_bytes;
    for (field, value) in [
        ("id", &exposure.id),
        ("unit_id", &exposure.unit_id),
        ("experiment", &exposure.experiment),
        ("variant", &exposure.variant),
    ] {
        if value.is_empty() || value.len() > max {
            return Err((
                field,
                format!("must be 1 to {max} bytes (limits.max_string_bytes)"),
            ));
        }
    }
    if exposure.attributes.len() > state.settings.assign.max_attributes {
        return Err((
            "attributes",
            format!(
                "at most {} attributes (assign.max_attributes)",
                state.settings.assign.max_attributes
            ),
        ));
    }
    let skew_ms = state
        .settings
        .events
        .max_future_skew_seconds
        .saturating_mul(1000);
    if let Some(at) = exposure.timestamp
        && at.as_millis() > now.as_millis().saturating_add(skew_ms)
    {
        return Err((
            "timestamp",
            "lies in the future; check the client clock".into(),
        ));
    }
    Ok(exposure)
}

/// Decides the unit's variant again and records the exposure when it is the one shown.
/// `Ok(Ok(new))` when recorded (or already), `Ok(Err(..))` when refused, `Err` when the store
/// failed (the whole request answers 503, so the client retries it).
async fn record_one(
    state: &AppState,
    exposure: ExposureInput,
    now: Timestamp,
) -> Result<Result<bool, Refusal>, ServiceError> {
    let catalog = state.catalog.load();
    let Some(experiment) = catalog.get(&exposure.experiment).cloned() else {
        return Ok(Err((
            "experiment",
            format!("no experiment `{}`", exposure.experiment),
        )));
    };
    if !experiment.is_running() {
        return Ok(Err((
            "experiment",
            format!(
                "experiment `{}` is not running: only running experiments record exposures",
                exposure.experiment
            ),
        )));
    }
    let request = AssignRequest {
        unit_id: exposure.unit_id,
        touchpoint: experiment.touchpoint().to_owned(),
        attributes: exposure.attributes,
        enroll: true,
    };
    let key = Some(experiment.key());
    let check = assign::decide(state, &catalog, &request, key, Mode::Preview, now).await;
    if let Some(holdout) = check.holdout {
        return Ok(Err((
            "unit_id",
            format!("the unit is held out of this touchpoint by holdout `{holdout}`"),
        )));
    }
    let Some(decided) = check.assignments.into_iter().find(|a| !a.shipped) else {
        return Ok(Err((
            "unit_id",
            "the unit is not in this experiment (traffic, targeting, layer or the touchpoint's \
             plugin keep it out)"
                .into(),
        )));
    };
    if decided.variant != exposure.variant {
        return Ok(Err((
            "variant",
            format!(
                "the unit's variant is `{}`, not `{}`",
                decided.variant, exposure.variant
            ),
        )));
    }
    let at = exposure.timestamp.unwrap_or(now);
    let recorded = assign::decide(state, &catalog, &request, key, Mode::Enroll, at).await;
    match recorded.store_error {
        Some(error) => Err(error.into()),
        None => Ok(Ok(recorded.new_exposures > 0)),
    }
}
