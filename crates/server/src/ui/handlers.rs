//! The dashboard's handlers: each reads through the same services as the JSON API and renders
//! a page. Sign-in exchanges an admin key for a random session token, kept in the store and sent
//! as an HttpOnly, SameSite=Strict cookie; sign-out revokes it (decision 014).

use crate::access::Role;
use crate::access::gate::Gate;
use crate::access::session::SESSION_COOKIE;
use crate::error::ServiceError;
use crate::request_body::Json;
use crate::service::{audit, experiments, results};
use crate::snapshots::Days;
use crate::state::AppState;
use crate::ui::charts::over_time::{DailySnapshots, over_time};
use crate::ui::layout::{self, Session, escape, page};
use crate::ui::pace;
use crate::ui::pages::{decision_card, experiment, guardrail_banner, list, login, segments};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;

/// Admin actions the experiment page's history shows (newest first).
const HISTORY_ENTRIES: usize = 50;

/// What the pages may load: only this server's own script, styles and API; no inline script,
/// no framing.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((CACHE_CONTROL, "no-store"));
    response
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

fn session(gate: &Gate) -> Session {
    if gate.is_open() {
        Session::Open
    } else {
        Session::SignedIn
    }
}

/// A page-shaped error: a person gets words and a way back, not a problem document.
fn error_page(error: &ServiceError, gate: &Gate) -> HttpResponse {
    use actix_web::ResponseError;
    let status = error.status_code();
    let message = if status.is_server_error() {
        // As for the API: details in the log, a generic sentence on the page.
        tracing::error!(error = %error, source = ?std::error::Error::source(error), "dashboard page failed");
        "The results could not be read right now; try again in a moment.".to_owned()
    } else {
        error.to_string()
    };
    let body = format!(
        r#"<section class="card"><h1>{}</h1><p>{}</p><p><a href="/ui">Back to the experiments</a></p></section>"#,
        status.canonical_reason().unwrap_or("Error"),
        escape(&message)
    );
    html(status).body(page("Error", &body, session(gate)))
}

pub(crate) async fn experiments_page(
    state: web::Data<AppState>,
    gate: web::Data<Gate>,
) -> HttpResponse {
    let mut rows = Vec::new();
    for experiment in experiments::list(&state) {
        let results = results::results(&state, experiment.key(), None)
            .await
            .ok()
            .map(|document| document.results);
        let guardrail_stop = audit::list(&state, Some(experiment.key()), HISTORY_ENTRIES)
            .await
            .ok()
            .and_then(|entries| guardrail_banner::guardrail_stop(&experiment, &entries));
        rows.push(list::Row {
            experiment,
            results,
            guardrail_stop,
        });
    }
    html(StatusCode::OK).body(list::list_page(&rows, session(&gate)))
}

/// What the experiment page's address may carry: `?phase=N&segment=ATTRIBUTE&view=SECTION`
/// (the view is the script's; it is kept in shared links) and `rho=0.6`, the expected CUPED
/// correlation the power panel plans with.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    phase: Option<String>,
    segment: Option<String>,
    rho: Option<String>,
}

pub(crate) async fn experiment_page(
    state: web::Data<AppState>,
    gate: web::Data<Gate>,
    key: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let experiment = match experiments::get(&state, &key) {
        Ok(experiment) => experiment,
        Err(error) => return error_page(&error, &gate),
    };
    let phase = match query.phase.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(number) => Some(number),
            Err(_) => {
                let error = ServiceError::BadRequest {
                    field: "phase".into(),
                    message: format!("`{text}` is not a phase number"),
                };
                return error_page(&error, &gate);
            }
        },
    };
    let correlation = match query.rho.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(text) => match text.parse::<f64>() {
            Ok(rho) if (0.0..1.0).contains(&rho) => Some(rho),
            _ => {
                let error = ServiceError::BadRequest {
                    field: "rho".into(),
                    message: format!(
                        "`{text}` is not an expected correlation: a number from 0 up to (not including) 1"
                    ),
                };
                return error_page(&error, &gate);
            }
        },
    };
    // The page renders without its history when the log cannot be read.
    let history = audit::list(&state, Some(&key), HISTORY_ENTRIES).await.ok();
    let document = match results::results(&state, &key, phase).await {
        Ok(document) => document,
        Err(error) => return error_page(&error, &gate),
    };
    let eta = estimated_day(&state, &experiment, &document.results).await;
    let segment = query.segment.as_deref().filter(|s| !s.is_empty());
    let segment_results = match segment {
        None => None,
        Some(attribute) => Some(
            results::segments(&state, &key, attribute, phase)
                .await
                .map(|document| document.results)
                .map_err(|error| error.to_string()),
        ),
    };
    let segments = segments::segments_section(
        &experiment,
        segment,
        segment_results
            .as_ref()
            .map(|r| r.as_ref().map_err(Clone::clone)),
    );
    let plugins = plugin_servers(&state, experiment.touchpoint()).await;
    let plugin_fuel = plugin_fuel(&state, experiment.touchpoint());
    let extras = experiment::Extras {
        phase,
        eta,
        segments,
        plugins,
        plugin_fuel,
        correlation,
    };
    html(StatusCode::OK).body(experiment::experiment_page_with(
        &experiment,
        &document.results,
        history.as_deref(),
        session(&gate),
        &extras,
    ))
}

/// The day (`YYYY-MM-DD`, in the snapshot time zone) the planned sample is in at the recent
/// exposure rate; `None` when there is no plan, no recent exposure, or a store problem.
async fn estimated_day(
    state: &AppState,
    experiment: &touchstone_model::Experiment,
    results: &touchstone_stats::analysis::Results,
) -> Option<String> {
    if !experiment.is_running() {
        return None;
    }
    let document = serde_json::to_value(results).ok()?;
    let sample = decision_card::sample_progress(&document);
    let planned = sample.planned_units?;
    let aggregates = state.store.load_aggregates(experiment).await.ok()?;
    let by_hour = pace::exposures_by_hour(&aggregates);
    // The plan is per variant (the smallest arm): scale all exposures to that arm's share.
    let total: u64 = aggregates.variants.iter().map(|v| v.units).sum();
    if total == 0 {
        return None;
    }
    let share = sample.units as f64 / total as f64;
    let arm: std::collections::BTreeMap<i64, u64> = by_hour
        .into_iter()
        .map(|(hour, units)| (hour, (units as f64 * share).round() as u64))
        .collect();
    let at = pace::planned_sample_in(&arm, sample.units, planned, state.clock.now())?;
    let days = Days::new(&state.settings.experiments.snapshot_time_zone).ok()?;
    Some(days.day_of(at))
}

/// The plugin bound at `touchpoint` (if any) and the version of it each live server runs; no
/// rows when the heartbeats cannot be read (the page still renders).
async fn plugin_servers(
    state: &AppState,
    touchpoint: &str,
) -> Option<crate::ui::pages::health::PluginServers> {
    let (plugin, _) = state.plugins.for_touchpoint(touchpoint)?;
    let servers = state
        .store
        .load_servers(state.clock.now())
        .await
        .unwrap_or_default();
    Some(crate::ui::pages::health::PluginServers {
        plugin: plugin.name().to_owned(),
        servers: servers
            .into_iter()
            .map(|server| {
                let version = server.plugins.get(plugin.name()).cloned();
                (server.server, version)
            })
            .collect(),
    })
}

/// The fuel section of the plugin bound to the touchpoint (empty without one or its calls).
fn plugin_fuel(state: &AppState, touchpoint: &str) -> String {
    let Some((plugin, _)) = state.plugins.for_touchpoint(touchpoint) else {
        return String::new();
    };
    let stats: Vec<_> = state
        .plugins
        .host()
        .fuel_stats()
        .into_iter()
        .filter(|stats| stats.plugin == plugin.name())
        .collect();
    crate::ui::pages::health::plugin_fuel(plugin.name(), &stats, plugin.limits().fuel)
}

/// Renders the over-time charts from the daily snapshots the page's script fetched from
/// `GET /v1/experiments/{key}/results/daily`, so the charts are drawn by the same code (and
/// tests) as every other chart.
pub(crate) async fn over_time_chart(Json(daily): Json<DailySnapshots>) -> HttpResponse {
    let fragment = over_time(&daily.days)
        .unwrap_or_else(|| r#"<p class="hint">No daily snapshots yet.</p>"#.to_owned());
    html(StatusCode::OK).body(fragment)
}

pub(crate) async fn login_page(gate: web::Data<Gate>) -> HttpResponse {
    // Nothing to sign into in development mode.
    if gate.is_open() {
        return see_other("/ui");
    }
    html(StatusCode::OK).body(login::login_page(None))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    key: String,
}

/// Signs an admin key in. The gate has already refused a cross-origin post (route access
/// `SignIn`); here failed attempts count against the address, which is throttled past its burst.
pub(crate) async fn login(
    request: HttpRequest,
    gate: web::Data<Gate>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if gate.is_open() {
        return see_other("/ui");
    }
    if let Err(ServiceError::RateLimited {
        retry_after_seconds,
    }) = gate.check_throttle(&request)
    {
        let mut response = html(StatusCode::TOO_MANY_REQUESTS);
        response.insert_header((RETRY_AFTER, retry_after_seconds.to_string()));
        return response.body(login::login_page(Some(&format!(
            "Too many failed sign-ins from this address; try again in {retry_after_seconds} s."
        ))));
    }
    let key = form.key.trim();
    match gate.identify(key) {
        Some(caller) if caller.role == Role::Admin => match gate.sign_in(key).await {
            Ok(Some((caller, token))) => {
                let secure = if request.connection_info().scheme() == "https" {
                    "; Secure"
                } else {
                    ""
                };
                let cookie = format!(
                    "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                    gate.session_ttl().as_secs()
                );
                tracing::info!(key_id = %caller.key_id, "dashboard sign-in");
                HttpResponse::SeeOther()
                    .insert_header((SET_COOKIE, cookie))
                    .insert_header((LOCATION, "/ui"))
                    .finish()
            }
            Ok(None) => html(StatusCode::UNAUTHORIZED).body(login::login_page(Some(
                "That key is not one of the configured admin keys.",
            ))),
            Err(error) => error_page(&error, &gate),
        },
        Some(_) => html(StatusCode::FORBIDDEN).body(login::login_page(Some(
            "That is a client key: the dashboard needs an admin key.",
        ))),
        None => {
            gate.failed(&request);
            html(StatusCode::UNAUTHORIZED).body(login::login_page(Some(
                "That key is not one of the configured admin keys.",
            )))
        }
    }
}

/// Signs out: the session is revoked in the store (on every server), and the cookie cleared.
pub(crate) async fn logout(request: HttpRequest, gate: web::Data<Gate>) -> HttpResponse {
    if let Err(error) = gate.sign_out(&request).await {
        return error_page(&error, &gate);
    }
    HttpResponse::SeeOther()
        .insert_header((
            SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        ))
        .insert_header((LOCATION, "/ui/login"))
        .finish()
}

/// The stylesheet and the script, compiled in. Their URLs carry a digest of the content, so
/// they may be cached for a year.
pub(crate) async fn asset(file: web::Path<String>) -> Result<HttpResponse, ServiceError> {
    let (body, content_type) = match file.as_str() {
        "dashboard.css" => (layout::CSS, "text/css; charset=utf-8"),
        "dashboard.js" => (layout::JS, "text/javascript; charset=utf-8"),
        "form.js" => (layout::FORM_JS, "text/javascript; charset=utf-8"),
        other => {
            return Err(ServiceError::NotFound {
                what: format!("asset `{other}`"),
            });
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body))
}

/// The favicon: a small SVG touchstone, for `/favicon.ico` (browsers ask for it on every page).
pub(crate) async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/svg+xml"))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(layout::FAVICON)
}
