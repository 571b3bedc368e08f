//! `POST /v1/assign`.

use crate::http::error::{ApiError, Problem};
use crate::request_body::Json;
use crate::service::assign::{self, AssignRequest, AssignResponse};
use crate::service::attributes;
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// Assigns a unit at a touchpoint: one variant per running experiment there whose targeting
/// (and plugin) admit it. Deterministic; the first exposure is recorded. A store outage does
/// not fail the call: `exposures_recorded` is then `false`.
#[utoipa::path(post, path = "/v1/assign", tag = "assignment",
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The unit's variants", body = AssignResponse),
        (status = 400, description = "A field is malformed; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many attributes or too large a body", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn post_assign(
    state: web::Data<AppState>,
    Json(request): Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    check_request(&state.settings, &state.catalog.load(), &request)?;
    let response = assign::assign(&state, request, state.clock.now()).await;
    Ok(HttpResponse::Ok().json(response))
}

/// The request's bounds; `touchstone plugin run --request` applies the same.
pub(crate) fn check_request(
    settings: &crate::settings::Settings,
    catalog: &crate::catalog::Catalog,
    request: &AssignRequest,
) -> Result<(), ApiError> {
    let max = settings.limits.max_string_bytes;
    let text = |field: &str, value: &str| {
        if value.is_empty() || value.len() > max {
            Err(ApiError::BadRequest {
                field: field.to_owned(),
                message: format!("must be 1 to {max} bytes (limits.max_string_bytes)"),
            })
        } else {
            Ok(())
        }
    };
    text("unit_id", &request.unit_id)?;
    text("touchpoint", &request.touchpoint)?;
    attributes::check(catalog, &request.touchpoint, &request.attributes, max).map_err(
        |problem| ApiError::BadRequest {
            field: problem.field,
            message: problem.message,
        },
    )?;
    let max_attributes = settings.assign.max_attributes;
    if request.attributes.len() > max_attributes {
        return Err(ApiError::TooLarge {
            limit: "assign.max_attributes",
            message: format!("at most {max_attributes} attributes"),
        });
    }
    Ok(())
}
