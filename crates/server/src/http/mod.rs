//! HTTP: thin handlers (parse → one service call → map), registered per area.

pub mod assign;
pub mod error;
pub mod events;
pub mod experiments;
pub mod health;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod plugins;

use crate::http::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use std::time::{SystemTime, UNIX_EPOCH};
use touchstone_model::Timestamp;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    cfg.service(
        web::scope("/v1")
            .configure(assign::configure)
            .configure(events::configure)
            .configure(experiments::configure)
            .configure(plugins::configure),
    );
    cfg.default_service(web::to(no_route));
}

/// Unknown paths, and known paths with another method, answer a problem document like every
/// other error (actix's default is an empty 404).
async fn no_route(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        what: format!("route `{} {}`", request.method(), request.path()),
    })
}

/// The request's receive time: the only place the server reads the clock for domain logic.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millis(millis)
}
