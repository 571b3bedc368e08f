//! `/v1/holdouts`: define (with its status), read, list, and results (whole, by segment).

use crate::http::error::{ApiError, Problem};
use crate::http::experiments::decode_definition;
use crate::request_body::Body;
use crate::service::audit::Acting;
use crate::service::holdouts;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use touchstone_model::{Holdout, HoldoutSpec};
use touchstone_stats::analysis::{Results, SegmentResults};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldoutList<'a> {
    pub holdouts: Vec<&'a HoldoutSpec>,
}

/// Every holdout's definition, in key order.
#[utoipa::path(get, path = "/v1/holdouts", tag = "experiments",
    responses((status = 200, description = "Every holdout", body = HoldoutList)))]
pub(crate) async fn list(state: web::Data<AppState>) -> HttpResponse {
    let all = holdouts::list(&state);
    HttpResponse::Ok().json(HoldoutList {
        holdouts: all.iter().map(Holdout::spec).collect(),
    })
}

/// One holdout's definition.
#[utoipa::path(get, path = "/v1/holdouts/{key}", tag = "experiments",
    params(("key" = String, Path, description = "The holdout key")),
    responses(
        (status = 200, description = "The definition", body = HoldoutSpec),
        (status = 404, description = "No such holdout", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(holdouts::get(&state, &key)?.spec()))
}

/// Creates or replaces a holdout (JSON, or TOML with a `toml` content type; the key may be
/// left out of the body). While `running` (the default), a unit whose GrowthBook v2 hash with
/// seed = the key is below `share` gets no experiment and no shipped winner at the covered
/// touchpoints; `stopped` ends that and keeps the results. The share cannot change later.
#[utoipa::path(put, path = "/v1/holdouts/{key}", tag = "experiments",
    params(("key" = String, Path, description = "The holdout key")),
    request_body(content((HoldoutSpec = "application/json"))),
    responses(
        (status = 200, description = "Replaced", body = HoldoutSpec),
        (status = 201, description = "Created", body = HoldoutSpec),
        (status = 400, description = "Malformed JSON or TOML, or a key that differs from the path; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The share of an existing holdout cannot change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large or nested too deeply", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid holdout: `errors` lists every problem with its field path", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable; nothing was saved", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn put(
    state: web::Data<AppState>,
    key: web::Path<String>,
    request: HttpRequest,
    Body(body): Body,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    let spec: HoldoutSpec =
        decode_definition(&request, &body, &key, state.settings.limits.max_json_depth)?;
    let (holdout, created) = holdouts::define(&state, spec, &acting).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(holdout.spec()))
}

/// The holdout analysed like an experiment: `holdout` (the held-out units, control) against
/// `program` (everyone else in scope), each exposed at its first assign call, on the holdout's
/// journey and metrics. A positive effect is what the program earned.
#[utoipa::path(get, path = "/v1/holdouts/{key}/results", tag = "experiments",
    params(("key" = String, Path, description = "The holdout key")),
    responses(
        (status = 200, description = "The results document (experiment `holdout:KEY`)", body = Results),
        (status = 404, description = "No such holdout", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_results(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(holdouts::results(&state, &key).await?))
}

/// The holdout's results per value of one of its segment attributes, adjusted across the
/// slices, with a heterogeneity test.
#[utoipa::path(get, path = "/v1/holdouts/{key}/results/segments/{attribute}", tag = "experiments",
    params(
        ("key" = String, Path, description = "The holdout key"),
        ("attribute" = String, Path, description = "One of the holdout's `segments`"),
    ),
    responses(
        (status = 200, description = "Results by segment value", body = SegmentResults),
        (status = 404, description = "No such holdout, or not one of its segment attributes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_segments(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, attribute) = path.into_inner();
    Ok(HttpResponse::Ok().json(holdouts::segments(&state, &key, &attribute).await?))
}
