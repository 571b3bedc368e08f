//! `/v1/experiments`: define (JSON or TOML), read, list, start, stop, results.

use crate::http::error::ApiError;
use crate::http::json::Body;
use crate::service::{experiments, results};
use crate::state::AppState;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use touchstone_model::{Experiment, ExperimentSpec, Status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/experiments", web::get().to(list))
        .route("/experiments/{key}", web::put().to(put))
        .route("/experiments/{key}", web::get().to(get))
        .route("/experiments/{key}/start", web::post().to(start))
        .route("/experiments/{key}/stop", web::post().to(stop))
        .route("/experiments/{key}/results", web::get().to(get_results))
        .route("/experiments/{key}/results/daily", web::get().to(get_daily))
        .route(
            "/experiments/{key}/results/segments/{attribute}",
            web::get().to(get_segments),
        )
        .route("/experiments/{key}/snapshot", web::post().to(snapshot));
}

/// The definition as the API shows it.
fn view(experiment: &Experiment) -> Value {
    serde_json::to_value(experiment.spec()).unwrap_or(Value::Null)
}

async fn list(state: web::Data<AppState>) -> HttpResponse {
    let all: Vec<Value> = experiments::list(&state).iter().map(view).collect();
    HttpResponse::Ok().json(json!({ "experiments": all }))
}

async fn get(state: web::Data<AppState>, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::get(&state, &key)?;
    Ok(HttpResponse::Ok().json(view(&experiment)))
}

async fn put(
    state: web::Data<AppState>,
    key: web::Path<String>,
    request: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let spec = decode_definition(&request, &body, &key, state.settings.limits.max_json_depth)?;
    let (experiment, created) = experiments::define(&state, spec).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(view(&experiment)))
}

async fn start(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::set_status(&state, &key, Status::Running).await?;
    Ok(HttpResponse::Ok().json(view(&experiment)))
}

async fn stop(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let experiment = experiments::set_status(&state, &key, Status::Stopped).await?;
    Ok(HttpResponse::Ok().json(view(&experiment)))
}

async fn get_results(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let results = results::results(&state, &key).await?;
    Ok(HttpResponse::Ok().json(results))
}

async fn get_daily(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(results::daily(&state, &key).await?))
}

async fn get_segments(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, attribute) = path.into_inner();
    Ok(HttpResponse::Ok().json(results::segments(&state, &key, &attribute).await?))
}

async fn snapshot(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(results::snapshot_now(&state, &key).await?))
}

/// A definition from a JSON or TOML body (by Content-Type). The key may be left out of the
/// body; when given it must match the path.
fn decode_definition(
    request: &HttpRequest,
    body: &[u8],
    key: &str,
    max_depth: usize,
) -> Result<ExperimentSpec, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/json");
    let mut document: Value = if content_type.contains("toml") {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::BadRequest {
            field: "body".into(),
            message: "a TOML definition must be UTF-8".into(),
        })?;
        toml::from_str(text).map_err(|error| ApiError::BadRequest {
            field: "body".into(),
            message: error.to_string(),
        })?
    } else {
        crate::http::json::decode(body)?
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
    crate::http::json::check_depth(&bytes, max_depth)?;
    crate::http::json::decode(&bytes)
}
