//! `POST /v1/exposures`: exposure on use.

use crate::http::error::{ApiError, Problem};
use crate::request_body::Json;
use crate::service::exposures::{self, ExposuresRequest, ExposuresResponse};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// Records that a page showed units their variants. The server decides each unit's variant
/// again and refuses, by index and field, a mismatch, an unknown or stopped experiment, or a
/// unit kept out; an exposure counts once per unit (a retried id is a duplicate).
#[utoipa::path(post, path = "/v1/exposures", tag = "assignment",
    request_body = ExposuresRequest,
    responses(
        (status = 200, description = "What was recorded, what was already, what was refused", body = ExposuresResponse),
        (status = 400, description = "The body is not an exposures batch", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many exposures or too large a body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; retry the batch", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn post_exposures(
    state: web::Data<AppState>,
    Json(request): Json<ExposuresRequest>,
) -> Result<HttpResponse, ApiError> {
    let response = exposures::record(&state, request, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(response))
}
