//! `POST /v1/experiments/{key}/phases` (start the next phase) and the `?phase=N` query the
//! results routes take.

use crate::http::error::{ApiError, Problem};
use crate::request_body::Json;
use crate::service::audit::Acting;
use crate::service::phases;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use touchstone_model::{ExperimentSpec, PhaseChange};
use utoipa::{IntoParams, ToSchema};

/// The longest `reason` kept in the audit log.
const MAX_REASON_CHARS: usize = 1000;

/// What the next phase changes; what is left out stays as it is, except the salt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseRequest {
    /// One weight per variant, in variant order (default: the current weights).
    #[schema(example = json!([0.8, 0.2]))]
    pub weights: Option<Vec<f64>>,
    /// Share of eligible units that enter, in [0, 1] (default: the current traffic).
    pub traffic: Option<f64>,
    /// Hash seed of the new phase (default `KEY:N`, N the new phase's number): a fresh salt
    /// re-randomizes every unit, so what a unit saw before does not follow it into one arm.
    pub salt: Option<String>,
    /// Why, kept in the audit entry.
    pub reason: Option<String>,
}

/// Starts the next phase of a running experiment: the one way its weights, traffic or salt
/// change. The new phase assigns with a fresh salt (`KEY:N` unless given) and counts from
/// zero: a unit exposed before is a new unit in it, and events count only in the phase the
/// unit was exposed in since the switch. Earlier phases stay readable with `?phase=N`.
#[utoipa::path(post, path = "/v1/experiments/{key}/phases", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    request_body = PhaseRequest,
    responses(
        (status = 201, description = "The definition, now in its next phase (`phase`, `phases`)", body = ExperimentSpec),
        (status = 400, description = "A malformed body, or a reason too long; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The experiment is not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad weight, traffic or salt: `errors` lists each with its field (`weights[1]`, `traffic`, `salt`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn post_phase(
    state: web::Data<AppState>,
    key: web::Path<String>,
    Json(request): Json<PhaseRequest>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let reason = match request.reason {
        Some(reason) if reason.chars().count() > MAX_REASON_CHARS => {
            return Err(ApiError::BadRequest {
                field: "reason".into(),
                message: format!("at most {MAX_REASON_CHARS} characters"),
            });
        }
        Some(reason) => Value::String(reason),
        None => Value::Null,
    };
    let change = PhaseChange {
        weights: request.weights,
        traffic: request.traffic,
        salt: request.salt,
    };
    let experiment = phases::start(&state, &key, change, &acting, reason).await?;
    Ok(HttpResponse::Created().json(experiment.spec()))
}

/// The phase a results route reads.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhaseQuery {
    /// The phase to read, 1 to the current one (default: the current one).
    #[param(value_type = Option<u32>)]
    phase: Option<String>,
}

/// `?phase=N` of a results request: `None` when absent. Other query parameters are ignored,
/// as they were before phases existed.
pub(crate) fn phase_query(request: &HttpRequest) -> Result<Option<u32>, ApiError> {
    let query = web::Query::<PhaseQuery>::from_query(request.query_string()).map_err(|error| {
        ApiError::BadRequest {
            field: "query".into(),
            message: format!("{error}; expected ?phase=N"),
        }
    })?;
    query
        .into_inner()
        .phase
        .map(|text| {
            text.parse::<u32>().map_err(|_| ApiError::BadRequest {
                field: "phase".into(),
                message: format!("must be a phase number (1, 2, …), not `{text}`"),
            })
        })
        .transpose()
}
