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

use actix_web::web;
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
}

/// The request's receive time: the only place the server reads the clock for domain logic.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millis(millis)
}
