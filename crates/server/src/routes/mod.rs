//! The route table: every route the server answers — the API's (`http`) and the dashboard's
//! (`ui`) — with who may call it, registered from the one table in [`routes!`] below, so the
//! gate, the OpenAPI document and the 404/405 answers read the same entries. This is the one
//! module that knows both rooms; neither of them imports it or each other.

pub mod docs;
pub mod middleware;
pub mod openapi;

use crate::access::Access;
use crate::access::gate::Gate;
use crate::http::error::ApiError;
use crate::http::{
    assign, audit, events, experiments, exposures, health, holdouts, layers, metrics, ofrep,
    phases, plugins, sdk,
};
use crate::ui;
use actix_web::guard::{self, GuardContext};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};

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
    /// Who may call it: the gate decides from this entry of the route the router matched.
    pub access: Access,
}

/// Expands one table into both the route list ([`ROUTES`]) and their registration, so the two
/// cannot drift apart.
macro_rules! routes {
    ($($kind:ident $method:ident $path:literal $access:ident => $handler:path;)*) => {
        /// Every route the server answers, API and dashboard, with who may call it.
        pub const ROUTES: &[Route] = &[
            $(Route {
                kind: RouteKind::$kind,
                method: stringify!($method),
                path: $path,
                access: Access::$access,
            },)*
        ];

        /// One resource per route, guarded by its method (so a path's other routes are tried
        /// next) and wrapped in the gate, which runs once the router has matched it.
        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service(
                web::resource($path)
                    .guard(guard::fn_guard(|context: &GuardContext<'_>| {
                        context.head().method.as_str().eq_ignore_ascii_case(stringify!($method))
                    }))
                    .wrap(from_fn(middleware::gate))
                    .route(web::route().to($handler)),
            );)*
        }
    };
}

routes! {
    Api get "/healthz" Open => health::healthz;
    Api get "/readyz" Open => health::readyz;
    Api get "/metrics" Metrics => metrics::render;
    Api get "/openapi.json" Open => openapi::document;
    Page get "/docs" Open => docs::page;
    Api post "/v1/assign" Client => assign::post_assign;
    Api post "/v1/events" Client => events::post_events;
    Api post "/v1/events/beacon" Open => events::post_beacon;
    Api post "/v1/exposures" Client => exposures::post_exposures;
    Api post "/ofrep/v1/evaluate/flags/{key}" Client => ofrep::evaluate_flag;
    Api post "/ofrep/v1/evaluate/flags" Client => ofrep::evaluate_flags;
    Page get "/sdk/touchstone.js" Open => sdk::client_js;
    Page get "/demo" Open => sdk::demo_index;
    Page get "/demo/{file}" Open => sdk::demo_file;
    Api get "/v1/experiments" Admin => experiments::list;
    Api put "/v1/experiments/{key}" Admin => experiments::put;
    Api get "/v1/experiments/{key}" Admin => experiments::get;
    Api post "/v1/experiments/{key}/start" Admin => experiments::start;
    Api post "/v1/experiments/{key}/stop" Admin => experiments::stop;
    Api post "/v1/experiments/{key}/ship" Admin => experiments::ship;
    Api post "/v1/experiments/{key}/phases" Admin => phases::post_phase;
    Api get "/v1/experiments/{key}/results" Admin => experiments::get_results;
    Api get "/v1/experiments/{key}/results/daily" Admin => experiments::get_daily;
    Api get "/v1/experiments/{key}/results/segments/{attribute}" Admin => experiments::get_segments;
    Api post "/v1/experiments/{key}/snapshot" Admin => experiments::snapshot;
    Api get "/v1/holdouts" Admin => holdouts::list;
    Api put "/v1/holdouts/{key}" Admin => holdouts::put;
    Api get "/v1/holdouts/{key}" Admin => holdouts::get;
    Api get "/v1/holdouts/{key}/results" Admin => holdouts::get_results;
    Api get "/v1/holdouts/{key}/results/segments/{attribute}" Admin => holdouts::get_segments;
    Api get "/v1/layers" Admin => layers::list;
    Api get "/v1/audit" Admin => audit::list;
    Api get "/v1/plugins" Admin => plugins::list_plugins;
    Api put "/v1/plugins/{name}" Admin => plugins::upload;
    Api delete "/v1/plugins/{name}" Admin => plugins::delete_plugin;
    Api get "/v1/touchpoints" Admin => plugins::list_bindings;
    Api put "/v1/touchpoints/{name}" Admin => plugins::bind;
    Api delete "/v1/touchpoints/{name}" Admin => plugins::unbind;
    Page get "/ui" Admin => ui::handlers::experiments_page;
    Page get "/ui/login" Open => ui::handlers::login_page;
    Page post "/ui/login" SignIn => ui::handlers::login;
    Page post "/ui/logout" SignIn => ui::handlers::logout;
    Page get "/ui/assets/{file}" Open => ui::handlers::asset;
    Page get "/ui/experiments/new" Admin => ui::forms::new_experiment_page;
    Page get "/ui/experiments/{key}" Admin => ui::handlers::experiment_page;
    Page get "/ui/experiments/{key}/edit" Admin => ui::forms::edit_experiment_page;
    Page get "/ui/experiments/{key}/results.csv" Admin => ui::export::results_csv;
    Page get "/ui/preview/sample-size" Admin => ui::forms::sample_size_preview;
    Page get "/favicon.ico" Open => ui::handlers::favicon;
    Page post "/ui/charts/over-time" Admin => ui::handlers::over_time_chart;
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg);
    cfg.default_service(web::to(no_route));
}

/// What the route `pattern` (as the router matched it) with `method` requires; `None` when no
/// route of the table has them.
pub fn route_access(pattern: &str, method: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|route| route.path == pattern && route.method.eq_ignore_ascii_case(method))
        .map(|route| route.access)
}

/// A request no route matched is admitted like an admin route (so an encoded or mangled path
/// opens nothing and counts against the caller's throttle and rate limit), then answers 404 —
/// or 405 with `Allow` for a known path with another method — as a problem document (actix's
/// default is an empty 404).
async fn no_route(request: HttpRequest, gate: web::Data<Gate>) -> Result<HttpResponse, ApiError> {
    gate.admit(&request, Access::Admin).await?;
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

#[cfg(test)]
mod tests {
    use super::{ROUTES, methods_of, route_access, template_matches};
    use crate::access::Access;

    #[test]
    fn every_route_has_its_access_and_only_routes_of_the_table_have_one() {
        assert_eq!(route_access("/v1/assign", "POST"), Some(Access::Client));
        assert_eq!(route_access("/v1/events", "post"), Some(Access::Client));
        assert_eq!(route_access("/metrics", "GET"), Some(Access::Metrics));
        assert_eq!(route_access("/ui/login", "GET"), Some(Access::Open));
        assert_eq!(route_access("/ui/login", "POST"), Some(Access::SignIn));
        assert_eq!(route_access("/ui/logout", "POST"), Some(Access::SignIn));
        assert_eq!(route_access("/ui/assets/{file}", "GET"), Some(Access::Open));
        assert_eq!(
            route_access("/v1/experiments/{key}/start", "POST"),
            Some(Access::Admin)
        );
        assert_eq!(route_access("/v1/experiments/{key}/start", "GET"), None);
        assert_eq!(route_access("/v1/experiments/x/start", "POST"), None);
        // Everything under /v1 but the shop's routes is for admins (the beacon is open: its
        // client key is checked in the body); every page but sign-in, assets, the browser
        // client and the demo needs a session.
        for route in ROUTES {
            // Also open: the beacon (its client key travels in the body, checked by its
            // handler), the browser client, the demo shop (off unless `demo.enabled`) and the
            // favicon.
            let expected_open = matches!(
                route.path,
                "/healthz"
                    | "/readyz"
                    | "/openapi.json"
                    | "/docs"
                    | "/ui/assets/{file}"
                    | "/sdk/touchstone.js"
                    | "/demo"
                    | "/demo/{file}"
                    | "/favicon.ico"
            ) || (route.path == "/ui/login" && route.method == "get")
                || crate::access::key_in_body(route.path);
            assert_eq!(route.access == Access::Open, expected_open, "{route:?}");
            if route.path.starts_with("/v1/")
                && route.access != Access::Client
                && !crate::access::key_in_body(route.path)
            {
                assert_eq!(route.access, Access::Admin, "{route:?}");
            }
        }
    }

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
