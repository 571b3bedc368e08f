//! The form pages (`/ui/experiments/new`, `/ui/experiments/{key}/edit`) and the sample-size
//! preview they show as a person types (`/ui/preview/sample-size`), computed by the statistics
//! crate's power formula, the same one the results' power panel uses.

use crate::access::gate::Gate;
use crate::error::ServiceError;
use crate::service::experiments;
use crate::state::AppState;
use crate::ui::layout::{Session, escape, page};
use crate::ui::pages::form::{Known, form_page};
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

fn session(gate: &Gate) -> Session {
    if gate.is_open() {
        Session::Open
    } else {
        Session::SignedIn
    }
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            crate::ui::handlers::CONTENT_SECURITY_POLICY,
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

pub(crate) async fn new_experiment_page(
    state: web::Data<AppState>,
    gate: web::Data<Gate>,
) -> HttpResponse {
    let known = Known::gather(&experiments::list(&state));
    html(form_page(None, &known, session(&gate)))
}

pub(crate) async fn edit_experiment_page(
    state: web::Data<AppState>,
    gate: web::Data<Gate>,
    key: web::Path<String>,
) -> HttpResponse {
    let known = Known::gather(&experiments::list(&state));
    match experiments::get(&state, &key) {
        Ok(experiment) => html(form_page(Some(&experiment), &known, session(&gate))),
        Err(error) => {
            let body = format!(
                r#"<section class="card"><h1>Not found</h1><p>{}</p><p><a href="/ui">Back to the experiments</a></p></section>"#,
                escape(&error.to_string())
            );
            let mut response = html(page("Not found", &body, session(&gate)));
            *response.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
            response
        }
    }
}

/// `?baseline=0.1&mde=0.05&alpha=0.05&power=0.8&variants=2`.
#[derive(Debug, Deserialize)]
pub(crate) struct PreviewQuery {
    baseline: f64,
    mde: f64,
    #[serde(default = "default_alpha")]
    alpha: f64,
    #[serde(default = "default_power")]
    power: f64,
    #[serde(default = "default_variants")]
    variants: u64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_power() -> f64 {
    0.8
}
fn default_variants() -> u64 {
    2
}

/// `{"per_variant": n, "total": n·variants}`, or a problem naming what is out of range.
pub(crate) async fn sample_size_preview(
    query: Result<web::Query<PreviewQuery>, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    let web::Query(query) = query.map_err(|error| ServiceError::BadRequest {
        field: "query".into(),
        message: error.to_string(),
    })?;
    let per_variant = touchstone_stats::power::sample_size_per_variant(
        query.baseline,
        query.mde,
        query.alpha,
        query.power,
    )
    .map_err(|error| ServiceError::BadRequest {
        field: "mde".into(),
        message: error.to_string(),
    })?;
    Ok(HttpResponse::Ok().json(json!({
        "per_variant": per_variant,
        "total": per_variant.saturating_mul(query.variants.max(1)),
    })))
}
