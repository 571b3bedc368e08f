//! `POST /v1/events` and `POST /v1/events/beacon`.

use crate::access::gate::Gate;
use crate::http::error::{ApiError, Problem};
use crate::request_body::{Body, Json, check_depth, decode};
use crate::service::events::{self, EventInput, EventsRequest, EventsResponse};
use crate::service::exposures::{self, ExposureInput, ExposuresRequest, ExposuresResponse};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Records a batch of outcome events. Each event is checked on its own: bad ones are reported
/// by index and field while the rest are recorded; a retried event id counts once.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body = EventsRequest,
    responses(
        (status = 200, description = "What was recorded, what was a retry, what was refused", body = EventsResponse),
        (status = 400, description = "The body is not an events batch", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many events or too large a body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing was recorded", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn post_events(
    state: web::Data<AppState>,
    Json(request): Json<EventsRequest>,
) -> Result<HttpResponse, ApiError> {
    let response = events::record(&state, request, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// A beacon's body: `navigator.sendBeacon` can set no header and, cross-origin, no JSON
/// content type without a preflight, so the client key travels here and the body is read as
/// JSON whatever its content type (`text/plain`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeaconRequest {
    /// A client (or admin) key, checked exactly like `Authorization: Bearer`.
    pub client_key: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<EventInput>)]
    pub events: Vec<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Vec<ExposureInput>)]
    pub exposures: Vec<Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BeaconResponse {
    pub events: EventsResponse,
    pub exposures: ExposuresResponse,
}

/// Events (and exposures) sent by `navigator.sendBeacon` as a page closes: a `text/plain`
/// JSON body carrying the client key. Recorded exactly as `/v1/events` and `/v1/exposures`.
#[utoipa::path(post, path = "/v1/events/beacon", tag = "events",
    request_body(content = BeaconRequest, content_type = "text/plain"),
    responses(
        (status = 200, description = "What was recorded, what was a retry, what was refused", body = BeaconResponse),
        (status = 400, description = "The body is not a beacon batch", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No client key in the body, or an unknown one", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many events or too large a body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit exceeded; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing was recorded", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn post_beacon(
    state: web::Data<AppState>,
    gate: web::Data<Gate>,
    http: HttpRequest,
    Body(bytes): Body,
) -> Result<HttpResponse, ApiError> {
    check_depth(&bytes, state.settings.limits.max_json_depth)?;
    let request: BeaconRequest = decode(&bytes)?;
    gate.admit_body_key(request.client_key.as_deref(), &http)?;
    let now = state.clock.now();
    let events = events::record(
        &state,
        EventsRequest {
            events: request.events,
        },
        now,
    )
    .await?;
    let exposures = exposures::record(
        &state,
        ExposuresRequest {
            exposures: request.exposures,
        },
        now,
    )
    .await?;
    Ok(HttpResponse::Ok().json(BeaconResponse { events, exposures }))
}
