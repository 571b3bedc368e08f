//! `POST /v1/events`.

use crate::http::error::{ApiError, Problem};
use crate::http::json::Json;
use crate::service::events::{self, EventsRequest, EventsResponse};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

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
