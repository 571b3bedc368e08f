//! `POST /v1/events`.

use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::service::events::{self, EventsRequest};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(post_events));
}

async fn post_events(
    state: web::Data<AppState>,
    Json(request): Json<EventsRequest>,
) -> Result<HttpResponse, ApiError> {
    let response = events::record(&state, request, super::now()).await?;
    Ok(HttpResponse::Ok().json(response))
}
