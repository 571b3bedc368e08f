//! `GET /openapi.json`: the API description, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types. Access rules come from the route table
//! (`routes::ROUTES`), so the security and the 401/403/429 answers of each operation follow the
//! entry the gate enforces.

use crate::access::{self, Access};
use crate::http::{
    assign, audit, error::Problem, events, experiments, exposures, health, holdouts, layers,
    metrics, ofrep, phases, plugins,
};
use actix_web::HttpResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as Document, Ref, ResponseBuilder, SecurityRequirement,
};
use utoipa::{Modify, OpenApi};

use crate::access::session::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Touchstone",
        description = "A/B experiments across a shop's customer journey: assign units at touchpoints, \
record outcome events, read per-stage results. Every error is an RFC 9457 problem document \
(`application/problem+json`) with a stable `code`. With API keys configured, send \
`Authorization: Bearer KEY`: client keys may assign and send events, admin keys everything. With no \
keys configured (development) every route is open.",
    ),
    paths(
        health::healthz,
        health::readyz,
        metrics::render,
        document,
        assign::post_assign,
        events::post_events,
        events::post_beacon,
        exposures::post_exposures,
        ofrep::evaluate_flag,
        ofrep::evaluate_flags,
        experiments::list,
        experiments::put,
        experiments::get,
        experiments::start,
        experiments::stop,
        experiments::ship,
        phases::post_phase,
        experiments::get_results,
        experiments::get_daily,
        experiments::get_segments,
        experiments::snapshot,
        holdouts::list,
        holdouts::put,
        holdouts::get,
        holdouts::get_results,
        holdouts::get_segments,
        layers::list,
        audit::list,
        plugins::list_plugins,
        plugins::upload,
        plugins::list_bindings,
        plugins::bind,
        plugins::delete_plugin,
        plugins::unbind,
    ),
    components(schemas(Problem, plugins::HookName, plugins::PluginLimits, ofrep::OfrepFailure, ofrep::OfrepGeneralError)),
    modifiers(&AccessRules),
    tags(
        (name = "assignment", description = "Variants for a unit at a touchpoint"),
        (name = "events", description = "Outcome events: journey stages and metrics"),
        (name = "openfeature", description = "OpenFeature Remote Evaluation Protocol (OFREP 0.3.0 core): a flag is an experiment, `context.targetingKey` the unit; errors in the spec's shape"),
        (name = "experiments", description = "Definitions, lifecycle and results"),
        (name = "plugins", description = "WASM touchpoint plugins and their bindings"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
});

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", body = Object)))]
pub(crate) async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

/// Adds, per operation, what `access::required_access` enforces: the security requirement and
/// the 401 / 403 / 429 problems; and the 500 problem every operation may answer.
struct AccessRules;

impl Modify for AccessRules {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An admin or client API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "dashboard_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "Set by the dashboard's login (POST /ui/login) for an admin key",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An admin or client API key (OFREP routes only)",
            ))),
        );
        for (path, item) in document.paths.paths.iter_mut() {
            let ofrep = ofrep::is_ofrep_path(path);
            let refusal = |description: &str| {
                if ofrep {
                    ofrep_refusal(description)
                } else {
                    problem(description)
                }
            };
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                let access = crate::routes::route_access(path, method).unwrap_or(Access::Admin);
                if access == Access::Open && access::key_in_body(path) {
                    // The beacon route checks the client key in its body: 401 and 429, no 403.
                    operation.responses.responses.insert(
                        "401".into(),
                        refusal("No client key in the body, or an unknown one").into(),
                    );
                    operation.responses.responses.insert(
                        "429".into(),
                        refusal("Rate limit exceeded; see Retry-After").into(),
                    );
                }
                if access != Access::Open {
                    let mut requirements =
                        vec![SecurityRequirement::new::<_, _, &str>("bearer", [])];
                    if access == Access::Admin {
                        requirements.push(SecurityRequirement::new::<_, _, &str>(
                            "dashboard_session",
                            [],
                        ));
                    }
                    if ofrep {
                        requirements.push(SecurityRequirement::new::<_, _, &str>("api_key", []));
                    }
                    operation.security = Some(requirements);
                    let forbidden = match access {
                        Access::Client => "Not possible with a client key here",
                        Access::Metrics => {
                            "Needs an admin key or one of auth.metrics_keys (unless metrics.public)"
                        }
                        _ => "A client key may not use this endpoint; it needs an admin key",
                    };
                    operation.responses.responses.insert(
                        "401".into(),
                        refusal("No API key, or an unknown one").into(),
                    );
                    operation
                        .responses
                        .responses
                        .insert("403".into(), refusal(forbidden).into());
                    operation.responses.responses.insert(
                        "429".into(),
                        refusal("Rate limit exceeded; see Retry-After").into(),
                    );
                }
                operation.responses.responses.insert(
                    "500".into(),
                    refusal("Internal error (details in the server log)").into(),
                );
            }
        }
    }
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// An OFREP refusal: the spec's `{"errorDetails"}`, not a problem document.
fn ofrep_refusal(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("OfrepGeneralError")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{ROUTES, RouteKind};
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn document_json() -> Value {
        serde_json::from_str(&DOCUMENT).expect("the document is JSON")
    }

    #[test]
    fn the_document_describes_exactly_the_registered_api_routes() {
        let document = document_json();
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .filter(|key| ["get", "put", "post", "delete", "patch"].contains(&key.as_str()))
                    .map(|method| (method.clone(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let registered: BTreeSet<(String, String)> = ROUTES
            .iter()
            .filter(|route| route.kind == RouteKind::Api)
            .map(|route| (route.method.to_owned(), route.path.to_owned()))
            .collect();
        assert_eq!(documented, registered);
    }

    #[test]
    fn every_operation_documents_its_errors_as_problems() {
        let document = document_json();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                let responses = operation["responses"].as_object().expect("responses");
                let gated = crate::routes::route_access(path, method) != Some(Access::Open);
                for status in ["401", "403", "429"] {
                    // The beacon route checks the key in its body: 401 and 429, never 403.
                    let expected = gated || access::key_in_body(path) && status != "403";
                    assert_eq!(
                        responses.contains_key(status),
                        expected,
                        "{method} {path}: {status}"
                    );
                }
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let schema = if ofrep::is_ofrep_path(path) {
                            // The spec's error bodies on OFREP paths.
                            &response["content"]["application/json"]["schema"]["$ref"]
                        } else {
                            &response["content"]["application/problem+json"]["schema"]["$ref"]
                        };
                        let allowed: &[&str] = if ofrep::is_ofrep_path(path) {
                            &[
                                "#/components/schemas/OfrepFailure",
                                "#/components/schemas/OfrepGeneralError",
                            ]
                        } else {
                            &["#/components/schemas/Problem"]
                        };
                        assert!(
                            allowed.iter().any(|name| schema == name),
                            "{method} {path} {status}: {schema}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn schema_stand_ins_match_the_plugin_host_types() {
        let document = document_json();
        let schemas = &document["components"]["schemas"];
        let limits = serde_json::to_value(touchstone_plugin_host::Limits::default())
            .expect("limits serialize");
        let actual: BTreeSet<&String> = limits.as_object().expect("object").keys().collect();
        let described: BTreeSet<&String> = schemas["PluginLimits"]["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert_eq!(actual, described);
        let hooks: Vec<Value> = touchstone_plugin_host::Hook::ALL
            .iter()
            .map(|hook| serde_json::to_value(hook).expect("hook serializes"))
            .collect();
        assert_eq!(Value::Array(hooks), schemas["HookName"]["enum"]);
    }

    #[test]
    fn results_and_definitions_are_described_field_by_field() {
        let document = document_json();
        let schemas = &document["components"]["schemas"];
        for name in [
            "Results",
            "StageVariant",
            "Comparison",
            "CupedResult",
            "UnadjustedComparison",
            "ExperimentSpec",
            "FieldError",
        ] {
            assert!(
                schemas[name]["properties"].is_object(),
                "{name} is described"
            );
        }
    }

    #[test]
    fn the_verdict_fields_and_the_warnings_are_explained_in_the_schema() {
        let document = document_json();
        let schemas = &document["components"]["schemas"];
        let described = |schema: &str, field: &str| {
            let property = &schemas[schema]["properties"][field];
            // utoipa puts a field's doc comment in `description`, beside a `$ref` inside
            // `allOf`/`oneOf` when the field is itself a schema.
            let text = property.to_string();
            assert!(
                text.contains("\"description\""),
                "{schema}.{field} has no description: {property}"
            );
        };
        for field in [
            "decided_by",
            "verdict",
            "verdict_interval",
            "significant",
            "relative",
            "chance_to_beat_control",
        ] {
            described("Comparison", field);
        }
        for field in [
            "absolute", "relative", "level", "adjusted", "note", "p_value",
        ] {
            described("VerdictInterval", field);
        }
        described("StageVariant", "chance_to_be_best");
        described("MetricVariant", "chance_to_be_best");
        described("Results", "warnings");
        described("Results", "analysis");
        for verdict in ["better", "worse", "inconclusive", "waiting"] {
            assert!(
                schemas["Verdict"].to_string().contains(verdict),
                "{verdict}: {}",
                schemas["Verdict"]
            );
        }
    }
}
