//! `/v1/experiments`: define (JSON or TOML), read, list, start, stop, ship, results (now, by day,
//! by segment, of any phase) and snapshots. New phases: `http/phases.rs`.

use crate::http::error::{ApiError, Problem};
use crate::http::phases::{PhaseQuery, phase_query};
use crate::request_body::{Body, Json, decode};
use crate::service::audit::Acting;
use crate::service::{experiments, results};
use crate::state::AppState;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use touchstone_model::{Experiment, ExperimentSpec, Status};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentList<'a> {
    pub experiments: Vec<&'a ExperimentSpec>,
}

/// Every experiment's definition, in key order.
#[utoipa::path(get, path = "/v1/experiments", tag = "experiments",
    responses((status = 200, description = "Every definition", body = ExperimentList)))]
pub(crate) async fn list(state: web::Data<AppState>) -> HttpResponse {
    let all = experiments::list(&state);
    HttpResponse::Ok().json(ExperimentList {
        experiments: all.iter().map(Experiment::spec).collect(),
    })
}

/// One experiment's definition.
#[utoipa::path(get, path = "/v1/experiments/{key}", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    responses(
        (status = 200, description = "The definition", body = ExperimentSpec),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::get(&state, &key)?;
    Ok(HttpResponse::Ok().json(experiment.spec()))
}

/// Creates or replaces a definition (JSON, or TOML with a `toml` content type). The key may be
/// left out of the body. An existing experiment keeps its status and phases; a running one may
/// not change its variants or layer, and changes its weights, traffic or salt only through a
/// new phase (`POST /v1/experiments/{key}/phases`).
#[utoipa::path(put, path = "/v1/experiments/{key}", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    request_body(content(
        (ExperimentSpec = "application/json"),
        (String = "application/toml", example = "touchpoint = \"checkout.shipping\"\njourney = [\"purchase\"]\n"),
    )),
    responses(
        (status = 200, description = "Replaced", body = ExperimentSpec),
        (status = 201, description = "Created", body = ExperimentSpec),
        (status = 400, description = "Malformed JSON or TOML, or a key that differs from the path; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The change would reshuffle the units of a running experiment; `field` names it. `new_phase_required`: weights, traffic and salt change through `POST /v1/experiments/{key}/phases`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large or nested too deeply", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid definition: `errors` lists every problem with its field path", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing was saved", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn put(
    state: web::Data<AppState>,
    key: web::Path<String>,
    request: HttpRequest,
    Body(body): Body,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let spec = decode_definition(&request, &body, &key, state.settings.limits.max_json_depth)?;
    let (experiment, created) = experiments::define(&state, spec, &acting).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(experiment.spec()))
}

/// Why an experiment (re)starts, kept in the audit entry. The body is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Why, kept in the audit entry (at most 1000 characters).
    pub reason: Option<String>,
    /// `true`: a stopped experiment restarts in its next phase (same weights and traffic, a
    /// fresh salt, counting from zero) in one step — how the dashboard restarts an experiment
    /// the guardrail stopped. Default `false`: it continues its phase.
    #[serde(default)]
    pub new_phase: bool,
}

/// The longest start `reason` kept in the audit log.
const MAX_START_REASON_CHARS: usize = 1000;

/// Starts an experiment: it assigns and counts from now on (idempotent). A start re-arms its
/// guardrails at once: a claim left by the stop that came before is dropped, so a variant that
/// still harms is stopped again at the next check.
#[utoipa::path(post, path = "/v1/experiments/{key}/start", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    request_body(content = Option<StartRequest>, description = "Optional: `{\"reason\": \"…\", \"new_phase\": true}`"),
    responses(
        (status = 200, description = "The definition, now running", body = ExperimentSpec),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A malformed body or a reason too long; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`layer_overlap`: its layer range overlaps a running experiment's (`conflicts_with`, `overlap`); or it shipped, or `new_phase` on an experiment that is not stopped (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn start(
    state: web::Data<AppState>,
    key: web::Path<String>,
    Body(body): Body,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        StartRequest {
            reason: None,
            new_phase: false,
        }
    } else {
        decode::<StartRequest>(&body)?
    };
    let reason = match request.reason {
        Some(reason) if reason.chars().count() > MAX_START_REASON_CHARS => {
            return Err(ApiError::BadRequest {
                field: "reason".into(),
                message: format!("at most {MAX_START_REASON_CHARS} characters"),
            });
        }
        Some(reason) => Value::String(reason),
        None => Value::Null,
    };
    let experiment = if request.new_phase {
        crate::service::phases::restart(&state, &key, &acting, reason).await?
    } else {
        experiments::set_status_because(&state, &key, Status::Running, &acting, reason).await?
    };
    Ok(HttpResponse::Ok().json(experiment.spec()))
}

/// Stops an experiment: it no longer assigns or counts; its results stay (idempotent).
#[utoipa::path(post, path = "/v1/experiments/{key}/stop", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    responses(
        (status = 200, description = "The definition, now stopped", body = ExperimentSpec),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn stop(
    state: web::Data<AppState>,
    key: web::Path<String>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::set_status(&state, &key, Status::Stopped, &acting).await?;
    Ok(HttpResponse::Ok().json(experiment.spec()))
}

/// Which variant ships.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    /// The winning variant's key.
    pub variant: String,
}

/// Ships the winner: status `shipped`; every unit the targeting admits gets its payload at the
/// touchpoint (`"shipped": true` in assign), nothing more is recorded and the results stay as
/// they were. Idempotent for the variant already shipped; `stop` withdraws it.
#[utoipa::path(post, path = "/v1/experiments/{key}/ship", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    request_body = ShipRequest,
    responses(
        (status = 200, description = "The definition, now shipped", body = ExperimentSpec),
        (status = 400, description = "No such variant, or a malformed body; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It never ran, or already shipped another variant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn ship(
    state: web::Data<AppState>,
    key: web::Path<String>,
    Json(request): Json<ShipRequest>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::ship(&state, &key, &request.variant, &acting).await?;
    Ok(HttpResponse::Ok().json(experiment.spec()))
}

/// The analysis of everything counted in one phase (default: the current one): per stage and
/// metric, each variant against control (Welch, always-valid, Bayesian), SRM against that
/// phase's weights, power and a plain-language summary. `phase` and `phases` say which.
#[utoipa::path(get, path = "/v1/experiments/{key}/results", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key"), PhaseQuery),
    responses(
        (status = 200, description = "The results document", body = results::PhaseResults),
        (status = 400, description = "`phase` is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment, or no such phase (`field`: `phase`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_results(
    state: web::Data<AppState>,
    key: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let phase = phase_query(&request)?;
    let results = results::results(&state, &key, phase).await?;
    Ok(HttpResponse::Ok().json(results))
}

/// The results of one phase (default: the current one) as they stood at the end of each day
/// with a stored snapshot, oldest first (cumulative counts, analysed again with today's engine).
#[utoipa::path(get, path = "/v1/experiments/{key}/results/daily", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key"), PhaseQuery),
    responses(
        (status = 200, description = "One results document per day", body = results::DailyResults),
        (status = 400, description = "`phase` is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment, or no such phase (`field`: `phase`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_daily(
    state: web::Data<AppState>,
    key: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let phase = phase_query(&request)?;
    Ok(HttpResponse::Ok().json(results::daily(&state, &key, phase).await?))
}

/// Results per value of one of the experiment's segment attributes in one phase (default: the
/// current one), adjusted across the slices, with a heterogeneity test.
#[utoipa::path(get, path = "/v1/experiments/{key}/results/segments/{attribute}", tag = "experiments",
    params(
        ("key" = String, Path, description = "The experiment key"),
        ("attribute" = String, Path, description = "One of the experiment's `segments` (or `plugin_version`)"),
        PhaseQuery,
    ),
    responses(
        (status = 200, description = "Results by segment value", body = results::PhaseSegmentResults),
        (status = 400, description = "`phase` is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment or phase, or not one of its segment attributes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_segments(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (key, attribute) = path.into_inner();
    let phase = phase_query(&request)?;
    Ok(HttpResponse::Ok().json(results::segments(&state, &key, &attribute, phase).await?))
}

/// Takes (or replaces) today's daily snapshot now, and answers it with its results.
#[utoipa::path(post, path = "/v1/experiments/{key}/snapshot", tag = "experiments",
    params(("key" = String, Path, description = "The experiment key")),
    responses(
        (status = 200, description = "Today's snapshot and its results", body = results::DayResults),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing was saved", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn snapshot(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(results::snapshot_now(&state, &key).await?))
}

/// A definition (experiment or holdout) from a JSON or TOML body (by Content-Type). The key
/// may be left out of the body; when given it must match the path.
pub(crate) fn decode_definition<T: serde::de::DeserializeOwned>(
    request: &HttpRequest,
    body: &[u8],
    key: &str,
    max_depth: usize,
) -> Result<T, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let toml = content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().to_ascii_lowercase().ends_with("toml"));
    if !toml && !crate::request_body::is_json_media_type(content_type) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "`Content-Type: application/json` or `application/toml`",
        });
    }
    let mut document: Value = if toml {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::BadRequest {
            field: "body".into(),
            message: "a TOML definition must be UTF-8".into(),
        })?;
        toml::from_str(text).map_err(|error| ApiError::BadRequest {
            field: "body".into(),
            message: error.to_string(),
        })?
    } else {
        crate::request_body::decode(body)?
    };
    let object = document
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest {
            field: "body".into(),
            message: "a definition must be an object".into(),
        })?;
    match object.get("key") {
        None => {
            object.insert("key".into(), Value::String(key.to_owned()));
        }
        Some(Value::String(body_key)) if body_key == key => {}
        Some(_) => {
            return Err(ApiError::BadRequest {
                field: "key".into(),
                message: format!("must match the key in the path (`{key}`)"),
            });
        }
    }
    let bytes =
        serde_json::to_vec(&document).map_err(|error| ApiError::Internal(Box::new(error)))?;
    // Checked on the JSON form, so TOML definitions meet the same bounds.
    crate::request_body::check_depth(&bytes, max_depth)?;
    crate::request_body::decode(&bytes)
}
