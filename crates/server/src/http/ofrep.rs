//! `POST /ofrep/v1/evaluate/flags/{key}` and `POST /ofrep/v1/evaluate/flags`: OpenFeature
//! remote evaluation. Errors on these paths use the spec's bodies (`{"key"?, "errorCode",
//! "errorDetails"}`, or `{"errorDetails"}` for 401/403/413/429/5xx), not problem documents:
//! OpenFeature providers read `errorCode` and hand it to the application. This is the second
//! (and only other) place where errors become HTTP, because the spec fixes their shape.

use crate::http::error::ApiError;
use crate::request_body::{Body, check_depth};
use crate::service::ofrep::{self, Bounds, BulkEvaluation, FlagEvaluation, OfrepError};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// The spec's `evaluationFailure` / `flagNotFound` body (with `key`) or `bulkEvaluationFailure`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct OfrepFailure {
    key: Option<String>,
    /// PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT or FLAG_NOT_FOUND.
    #[schema(example = "TARGETING_KEY_MISSING")]
    error_code: String,
    error_details: Option<String>,
}

/// The spec's `generalErrorResponse`: every other refusal on an OFREP path (401, 403, 413,
/// 429, 5xx), with the usual status and headers.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct OfrepGeneralError {
    error_details: String,
}

/// Evaluates one experiment for `context.targetingKey` and records the exposure, as an
/// enrolling `/v1/assign` does.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", tag = "openfeature",
    params(("key" = String, Path, description = "The experiment key")),
    request_body(content = Object, description = "`{\"context\": {\"targetingKey\": UNIT, ...attributes}}`"),
    responses(
        (status = 200, description = "The unit's variant: `value` is its payload; no `value` (reason DISABLED) means the code default", body = FlagEvaluation),
        (status = 400, description = "PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT", body = OfrepFailure),
        (status = 404, description = "FLAG_NOT_FOUND: no experiment has this key", body = OfrepFailure),
    ))]
pub(crate) async fn evaluate_flag(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Result<Body, ApiError>,
) -> HttpResponse {
    let key = key.into_inner();
    let context = match read_context(&state, body, Some(&key)) {
        Ok(context) => context,
        Err(response) => return *response,
    };
    match ofrep::evaluate(&state, &key, context, state.clock.now()).await {
        Ok(evaluation) => HttpResponse::Ok().json(evaluation),
        Err(error) => failure(Some(&key), &error),
    }
}

/// Evaluates every running or shipped experiment (only those at `context.touchpoint` when
/// given) without recording exposures: a page evaluates up front and reports exposure on use
/// (`POST /v1/exposures`). `If-None-Match` with the answered `ETag` gives 304.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", tag = "openfeature",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of an earlier answer")),
    request_body(content = Object, description = "`{\"context\": {\"targetingKey\": UNIT, \"touchpoint\"?: T, ...attributes}}`"),
    responses(
        (status = 200, description = "Every flag, in key order; `ETag` names this answer", body = BulkEvaluation),
        (status = 304, description = "Nothing changed since the `If-None-Match` ETag"),
        (status = 400, description = "PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT", body = OfrepFailure),
    ))]
pub(crate) async fn evaluate_flags(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Result<Body, ApiError>,
) -> HttpResponse {
    let context = match read_context(&state, body, None) {
        Ok(context) => context,
        Err(response) => return *response,
    };
    let etag = ofrep::bulk_etag(&state, &context);
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| ofrep::etag_matches(value, &etag));
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .finish();
    }
    let answer = ofrep::evaluate_all(&state, context, state.clock.now()).await;
    HttpResponse::Ok().insert_header((ETAG, etag)).json(answer)
}

/// The checked context; `key` is the flag of a single evaluation (its failures name it, as
/// the spec's `evaluationFailure` requires), `None` for bulk.
fn read_context(
    state: &AppState,
    body: Result<Body, ApiError>,
    key: Option<&str>,
) -> Result<ofrep::Context, Box<HttpResponse>> {
    let Body(bytes) = body.map_err(|error| Box::new(refusal(&error)))?;
    check_depth(&bytes, state.settings.limits.max_json_depth)
        .map_err(|error| Box::new(refusal(&error)))?;
    let bounds = Bounds {
        max_string_bytes: state.settings.limits.max_string_bytes,
        max_attributes: state.settings.assign.max_attributes,
    };
    ofrep::parse_context(&bytes, bounds, key.is_none())
        .map_err(|error| Box::new(failure(key, &error)))
}

/// An evaluation failure in the spec's shape.
fn failure(key: Option<&str>, error: &OfrepError) -> HttpResponse {
    let status = match error {
        OfrepError::FlagNotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut body = json!({"errorCode": error.code(), "errorDetails": error.to_string()});
    if let Some(key) = key {
        body["key"] = key.into();
    }
    HttpResponse::build(status).json(body)
}

/// Any other refusal on an OFREP path — no key, a key without access, the rate limit, a body
/// too large, a store or internal failure — with its usual status and headers, as the spec's
/// `{"errorDetails"}` (the middleware calls this for `/ofrep/` paths).
pub fn refusal(error: &ApiError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(error);
    let details = if status.is_server_error() {
        // Logged in full by the problem-document path; the body stays generic.
        let _ = actix_web::ResponseError::error_response(error);
        "an internal error occurred; it has been logged".to_owned()
    } else {
        error.to_string()
    };
    let mut response = HttpResponse::build(status);
    match error {
        ApiError::RateLimited {
            retry_after_seconds,
        } => {
            response.insert_header(("Retry-After", retry_after_seconds.to_string()));
        }
        ApiError::Unauthorized => {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        _ => {}
    }
    response.json(json!({"errorDetails": details}))
}

/// Whether a path is OFREP's (its errors take the spec's shape).
pub fn is_ofrep_path(path: &str) -> bool {
    path.starts_with("/ofrep/")
}
