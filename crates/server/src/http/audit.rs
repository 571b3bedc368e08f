//! `GET /v1/audit`: the audit log, and the [`Acting`] extractor every admin handler takes so
//! its use case can record who acted.

use crate::access::Caller;
use crate::clock::{Clock, SystemClock};
use crate::http::error::{ApiError, Problem};
use crate::service::audit::{self, Acting};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use touchstone_model::holdout::experiment_key;
use touchstone_model::validation::check_key;
use touchstone_store::{AuditEntry, MAX_AUDIT_READ};
use utoipa::{IntoParams, ToSchema};

/// The id the middleware identified the caller by; `open` without API keys (development).
impl FromRequest for Acting {
    type Error = ApiError;
    type Future = Ready<Result<Acting, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key_id = request
            .extensions()
            .get::<Caller>()
            .map(|caller| caller.key_id.clone())
            .unwrap_or_else(|| "open".to_owned());
        // The request's receive time, from the application's clock.
        let at = request
            .app_data::<web::Data<AppState>>()
            .map_or_else(|| SystemClock.now(), |state| state.clock.now());
        ready(Ok(Acting { key_id, at }))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An experiment key; without it (and without `holdout`), the global log (plugin uploads
    /// and bindings).
    experiment: Option<String>,
    /// A holdout key: its log (definitions and status changes).
    holdout: Option<String>,
    /// How many entries, newest first (default 100, at most 1000).
    limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AuditEntry>,
}

/// The audit log, newest first: each admin action with its time, the short id of the API key
/// that did it (`key_id`, never the key), the `action` and what `changes`.
#[utoipa::path(get, path = "/v1/audit", tag = "experiments",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, newest first", body = AuditLog),
        (status = 400, description = "A bad query; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // Parsed here rather than by the `Query` extractor, whose refusal is not a problem document.
    let query = web::Query::<AuditQuery>::from_query(request.query_string()).map_err(|error| {
        ApiError::BadRequest {
            field: "query".into(),
            message: format!("{error}; expected ?experiment=KEY (or ?holdout=KEY)&limit=N"),
        }
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_READ).contains(&limit) {
        return Err(ApiError::BadRequest {
            field: "limit".into(),
            message: format!("must be 1 to {MAX_AUDIT_READ}"),
        });
    }
    for (field, key) in [
        ("experiment", &query.experiment),
        ("holdout", &query.holdout),
    ] {
        if let Some(problem) = key.as_deref().and_then(check_key) {
            return Err(ApiError::BadRequest {
                field: field.into(),
                message: problem.into(),
            });
        }
    }
    // A holdout's entries are kept in the log of its synthetic experiment, `holdout:KEY`.
    let log = match (&query.experiment, &query.holdout) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest {
                field: "holdout".into(),
                message: "name an experiment or a holdout, not both".into(),
            });
        }
        (_, Some(holdout)) => Some(experiment_key(holdout)),
        (experiment, None) => experiment.clone(),
    };
    let entries = audit::list(&state, log.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(AuditLog { entries }))
}
