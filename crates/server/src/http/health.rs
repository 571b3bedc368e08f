//! `/healthz` (the process answers) and `/readyz` (the store answers too).

use crate::http::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready` (an outage answers 503 instead).
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `memory` or `redis`.
    #[schema(example = "redis")]
    pub store: &'static str,
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The process and its store answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The store does not answer", body = crate::http::error::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        store: state.store.kind(),
    }))
}
