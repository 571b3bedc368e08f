//! `POST /v1/assign`.

use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::service::assign::{self, AssignRequest};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use touchstone_model::event::MAX_TEXT_LEN;

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
    let text = |field: &str, value: &str| {
        if value.is_empty() || value.len() > MAX_TEXT_LEN {
            Err(ApiError::BadRequest {
                field: field.to_owned(),
                message: format!("must be 1 to {MAX_TEXT_LEN} bytes"),
            })
        } else {
            Ok(())
        }
    };
    text("unit_id", &request.unit_id)?;
    text("touchpoint", &request.touchpoint)?;
    let max_attributes = state.settings.assign.max_attributes;
    if request.attributes.len() > max_attributes {
        return Err(ApiError::TooLarge {
            limit: "assign.max_attributes",
            message: format!("at most {max_attributes} attributes"),
        });
    }
    Ok(())
}
