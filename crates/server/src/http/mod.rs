//! HTTP: thin handlers (parse → one service call → map). Every route is registered from the one
//! table in [`routes!`] below, so the OpenAPI document can be checked against it.

pub mod assign;
pub mod audit;
pub mod docs;
pub mod error;
pub mod events;
pub mod experiments;
pub mod health;
pub mod holdouts;
pub mod json;
pub mod layers;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod phases;
pub mod plugins;

use crate::http::error::ApiError;
use crate::ui;
use actix_web::{HttpRequest, HttpResponse, web};
use std::time::{SystemTime, UNIX_EPOCH};
use touchstone_model::Timestamp;

/// Whether a route belongs to the API (and so to `/openapi.json`) or is a dashboard page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Api,
    Page,
}

/// One registered route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// Lower-case HTTP method, as OpenAPI spells it.
    pub method: &'static str,
    pub path: &'static str,
}

/// Expands one table into both the route list ([`ROUTES`]) and their registration, so the two
/// cannot drift apart.
macro_rules! routes {
    ($($kind:ident $method:ident $path:literal => $handler:path;)*) => {
        /// Every route the server answers, API and dashboard.
        pub const ROUTES: &[Route] = &[
            $(Route { kind: RouteKind::$kind, method: stringify!($method), path: $path },)*
        ];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

routes! {
    Api get "/healthz" => health::healthz;
    Api get "/readyz" => health::readyz;
    Api get "/metrics" => metrics::render;
    Api get "/openapi.json" => openapi::document;
    Page get "/docs" => docs::page;
    Api post "/v1/assign" => assign::post_assign;
    Api post "/v1/events" => events::post_events;
    Api get "/v1/experiments" => experiments::list;
    Api put "/v1/experiments/{key}" => experiments::put;
    Api get "/v1/experiments/{key}" => experiments::get;
    Api post "/v1/experiments/{key}/start" => experiments::start;
    Api post "/v1/experiments/{key}/stop" => experiments::stop;
    Api post "/v1/experiments/{key}/ship" => experiments::ship;
    Api post "/v1/experiments/{key}/phases" => phases::post_phase;
    Api get "/v1/experiments/{key}/results" => experiments::get_results;
    Api get "/v1/experiments/{key}/results/daily" => experiments::get_daily;
    Api get "/v1/experiments/{key}/results/segments/{attribute}" => experiments::get_segments;
    Api post "/v1/experiments/{key}/snapshot" => experiments::snapshot;
    Api get "/v1/holdouts" => holdouts::list;
    Api put "/v1/holdouts/{key}" => holdouts::put;
    Api get "/v1/holdouts/{key}" => holdouts::get;
    Api get "/v1/holdouts/{key}/results" => holdouts::get_results;
    Api get "/v1/holdouts/{key}/results/segments/{attribute}" => holdouts::get_segments;
    Api get "/v1/layers" => layers::list;
    Api get "/v1/audit" => audit::list;
    Api get "/v1/plugins" => plugins::list_plugins;
    Api put "/v1/plugins/{name}" => plugins::upload;
    Api get "/v1/touchpoints" => plugins::list_bindings;
    Api put "/v1/touchpoints/{name}" => plugins::bind;
    Page get "/ui" => ui::handlers::experiments_page;
    Page get "/ui/login" => ui::handlers::login_page;
    Page post "/ui/login" => ui::handlers::login;
    Page post "/ui/logout" => ui::handlers::logout;
    Page get "/ui/assets/{file}" => ui::handlers::asset;
    Page get "/ui/experiments/new" => ui::forms::new_experiment_page;
    Page get "/ui/experiments/{key}" => ui::handlers::experiment_page;
    Page get "/ui/experiments/{key}/edit" => ui::forms::edit_experiment_page;
    Page get "/ui/experiments/{key}/results.csv" => ui::export::results_csv;
    Page get "/ui/preview/sample-size" => ui::forms::sample_size_preview;
    Page get "/favicon.ico" => ui::handlers::favicon;
    Page post "/ui/charts/over-time" => ui::handlers::over_time_chart;
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg);
    cfg.default_service(web::to(no_route));
}

/// Unknown paths answer 404, known paths with another method 405 with `Allow`, both as a
/// problem document like every other error (actix's default is an empty 404).
async fn no_route(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = methods_of(request.path());
    if allowed.is_empty() {
        return Err(ApiError::NotFound {
            what: format!("route `{} {}`", request.method(), request.path()),
        });
    }
    Err(ApiError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.path().to_owned(),
        allowed,
    })
}

/// The methods (upper case, as `Allow` spells them) of the routes whose template matches `path`.
fn methods_of(path: &str) -> Vec<String> {
    let mut methods: Vec<String> = ROUTES
        .iter()
        .filter(|route| template_matches(route.path, path))
        .map(|route| route.method.to_ascii_uppercase())
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Whether `path` fits `template`, where a `{name}` segment matches any one non-empty segment.
fn template_matches(template: &str, path: &str) -> bool {
    let mut templates = template.split('/');
    let mut segments = path.split('/');
    loop {
        match (templates.next(), segments.next()) {
            (None, None) => return true,
            (Some(expected), Some(segment)) => {
                let placeholder = expected.starts_with('{') && expected.ends_with('}');
                if !(placeholder && !segment.is_empty() || expected == segment) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The request's receive time: the only place the server reads the clock for domain logic.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::{methods_of, template_matches};

    #[test]
    fn a_template_matches_one_segment_per_placeholder() {
        assert!(template_matches(
            "/v1/experiments/{key}",
            "/v1/experiments/checkout"
        ));
        assert!(!template_matches(
            "/v1/experiments/{key}",
            "/v1/experiments/"
        ));
        assert!(!template_matches(
            "/v1/experiments/{key}",
            "/v1/experiments/a/b"
        ));
        assert!(template_matches("/v1/layers", "/v1/layers"));
        assert!(!template_matches("/v1/layers", "/v1/layer"));
    }

    #[test]
    fn a_known_path_lists_every_method_it_answers() {
        assert_eq!(methods_of("/v1/experiments/checkout"), ["GET", "PUT"]);
        assert_eq!(methods_of("/v1/assign"), ["POST"]);
        assert!(methods_of("/v1/nothing").is_empty());
    }
}
