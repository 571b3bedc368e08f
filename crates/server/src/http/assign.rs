//! `POST /v1/assign`.

use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::service::assign::{self, AssignRequest};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assign", web::post().to(post_assign));
}

async fn post_assign(
    state: web::Data<AppState>,
    Json(request): Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    check_request(&state, &request)?;
    let response = assign::assign(&state, request, super::now()).await;
    Ok(HttpResponse::Ok().json(response))
}

fn check_request(state: &AppState, request: &AssignRequest) -> Result<(), ApiError> {
    let max = state.settings.limits.max_string_bytes;
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
    for (name, value) in &request.attributes {
        text("attributes", name)?;
        if let Some(value) = value.as_str()
            && value.len() > max
        {
            return Err(ApiError::BadRequest {
                field: format!("attributes.{name}"),
                message: format!("must be at most {max} bytes (limits.max_string_bytes)"),
            });
        }
    }
    let max_attributes = state.settings.assign.max_attributes;
    if request.attributes.len() > max_attributes {
        return Err(ApiError::TooLarge {
            limit: "assign.max_attributes",
            message: format!("at most {max_attributes} attributes"),
        });
    }
    Ok(())
}
