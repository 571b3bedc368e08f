//! `/v1/plugins` (upload, list, delete) and `/v1/touchpoints` (bind a plugin and its config,
//! list, unbind). Every change is stored before it answers (decision 019).

use crate::http::error::{ApiError, Problem};
use crate::plugins::Binding;
use crate::request_body::{Body, Json};
use crate::service::audit::Acting;
use crate::service::plugins::{self as use_case, PluginChangeError};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use touchstone_model::validation::check_key;
use touchstone_plugin_host::{Hook, Limits};
use utoipa::ToSchema;

/// A plugin as uploaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginUploaded {
    pub name: String,
    /// Short digest of the module: changes with every new upload.
    pub version: String,
    /// The module's SHA-256 (hex): its address in the store.
    pub sha256: String,
    #[schema(value_type = Vec<HookName>)]
    pub hooks: Vec<Hook>,
}

/// A plugin this server runs, its limits, its failures so far and the version each server
/// runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    pub name: String,
    pub version: String,
    pub sha256: String,
    #[schema(value_type = Vec<HookName>)]
    pub hooks: Vec<Hook>,
    #[schema(value_type = PluginLimits)]
    pub limits: Limits,
    pub failures: Vec<PluginFailure>,
    /// Every live server (by its heartbeat) and the version of this plugin it runs.
    pub servers: Vec<ServerVersion>,
    /// Fuel used per call of each hook since the server started (p50/p99 are bucket upper
    /// bounds, within 12.5 %), against `limits.fuel`.
    pub fuel: Vec<PluginFuel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerVersion {
    /// `host:port`.
    pub server: String,
    /// `null` when that server does not run the plugin (yet).
    pub version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginFuel {
    #[schema(value_type = HookName)]
    pub hook: Hook,
    pub calls: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginFailure {
    #[schema(value_type = HookName)]
    pub hook: Hook,
    /// Why the call failed (`trap`, `timeout`, `bad_output`, …); the safe default was used.
    pub reason: &'static str,
    pub count: u64,
}

/// One live server and what it runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    pub server: String,
    /// The definitions version of the plugin set it runs.
    pub version: u64,
    /// Its last heartbeat.
    #[schema(value_type = i64)]
    pub seen_at: touchstone_model::Timestamp,
    /// Plugin name → version.
    pub plugins: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginList {
    /// The definitions version of the set this server runs.
    pub version: u64,
    pub plugins: Vec<PluginView>,
    /// Every live server; empty when the store cannot be read.
    pub servers: Vec<ServerView>,
}

/// A touchpoint bound to a plugin, with the plugin's configuration there.
#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointBinding {
    pub touchpoint: String,
    pub plugin: String,
    #[schema(value_type = Object)]
    pub config: Value,
    /// The version of the plugin this server runs there, from the same instant as `config`
    /// (`null` when it cannot run it).
    pub version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointList {
    pub touchpoints: Vec<TouchpointBinding>,
}

/// A binding, optionally with the plugin's new module: both are stored in one step, so no
/// server runs the new config against the old module.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    pub plugin: String,
    /// Handed to the plugin's hooks as it is.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
    /// The plugin's module (standard base64), stored as the plugin's new version together with
    /// this binding.
    #[serde(default)]
    pub module: Option<String>,
}

fn change_error(error: PluginChangeError) -> ApiError {
    match error {
        PluginChangeError::Store(error) => ApiError::from(error),
        PluginChangeError::Refused { field, reason } => ApiError::BadRequest {
            field: field.into(),
            message: format!("plugin refused: {reason}"),
        },
        error @ PluginChangeError::UnknownPlugin(_) => ApiError::BadRequest {
            field: "plugin".into(),
            message: error.to_string(),
        },
        PluginChangeError::NotFound(what) => ApiError::NotFound { what },
        error @ (PluginChangeError::StillBound { .. } | PluginChangeError::Contended) => {
            ApiError::Conflict(error.to_string())
        }
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    match touchstone_model::validation::check_name(name) {
        Some(problem) => Err(ApiError::BadRequest {
            field: "name".into(),
            message: problem.into(),
        }),
        None => Ok(()),
    }
}

fn check_touchpoint(touchpoint: &str) -> Result<(), ApiError> {
    if touchpoint.is_empty() || touchpoint.len() > 128 {
        return Err(ApiError::BadRequest {
            field: "touchpoint".into(),
            message: "must be 1 to 128 characters".into(),
        });
    }
    Ok(())
}

/// Uploads (or replaces) a WASM plugin module. It is validated and compiled, stored, and
/// takes effect on this server at once and on every other within its refresh interval.
#[utoipa::path(put, path = "/v1/plugins/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The plugin name")),
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "The module"),
    responses(
        (status = 200, description = "Stored and loaded", body = PluginUploaded),
        (status = 400, description = "A bad name, or a module the host refused (with why)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Module larger than server.max_body_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable: nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn upload(
    state: web::Data<AppState>,
    name: web::Path<String>,
    Body(body): Body,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    check_name(&name)?;
    let uploaded = use_case::upload(&state, &acting, &name, body.to_vec(), None)
        .await
        .map_err(change_error)?;
    tracing::info!(plugin = %name, version = %uploaded.version, "plugin uploaded");
    let hooks = state
        .plugins
        .host()
        .get(&name)
        .map(|plugin| plugin.hooks().to_vec())
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(PluginUploaded {
        name: name.into_inner(),
        version: uploaded.version,
        sha256: uploaded.sha256,
        hooks,
    }))
}

/// Removes a plugin that no touchpoint is bound to.
#[utoipa::path(delete, path = "/v1/plugins/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The plugin name")),
    responses(
        (status = 204, description = "Removed from the store and from every server"),
        (status = 404, description = "No such plugin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A touchpoint is still bound to it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable: nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn delete_plugin(
    state: web::Data<AppState>,
    name: web::Path<String>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    check_name(&name)?;
    use_case::remove(&state, &acting, &name)
        .await
        .map_err(change_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The plugins this server runs with their hooks, limits and failure counts, and the version
/// of each that every live server runs.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins",
    responses((status = 200, description = "Running plugins, by name, and the live servers", body = PluginList)))]
pub(crate) async fn list_plugins(state: web::Data<AppState>) -> HttpResponse {
    let running = state.plugins.running();
    let servers = match state.store.load_servers(state.clock.now()).await {
        Ok(servers) => servers,
        Err(error) => {
            crate::observe::store_failure("load_servers", &error);
            Vec::new()
        }
    };
    let host = state.plugins.host();
    let failures = host.failure_counts();
    let fuel = host.fuel_stats();
    let plugins = running
        .plugins
        .values()
        .map(|plugin| PluginView {
            name: plugin.name().to_owned(),
            version: plugin.version().to_owned(),
            sha256: plugin.sha256().to_owned(),
            hooks: plugin.hooks().to_vec(),
            limits: *plugin.limits(),
            failures: failures
                .iter()
                .filter(|failure| failure.plugin == plugin.name())
                .map(|failure| PluginFailure {
                    hook: failure.hook,
                    reason: failure.reason,
                    count: failure.count,
                })
                .collect(),
            fuel: fuel
                .iter()
                .filter(|stats| stats.plugin == plugin.name())
                .map(|stats| PluginFuel {
                    hook: stats.hook,
                    calls: stats.calls,
                    p50: stats.p50,
                    p99: stats.p99,
                    max: stats.max,
                })
                .collect(),
            servers: servers
                .iter()
                .map(|server| ServerVersion {
                    server: server.server.clone(),
                    version: server.plugins.get(plugin.name()).cloned(),
                })
                .collect(),
        })
        .collect();
    let servers = servers
        .into_iter()
        .map(|server| ServerView {
            server: server.server,
            version: server.version,
            seen_at: server.seen_at,
            plugins: server.plugins,
        })
        .collect();
    HttpResponse::Ok().json(PluginList {
        version: running.version,
        plugins,
        servers,
    })
}

/// Binds a touchpoint (or `_events`, for the events hook) to a stored plugin with its config —
/// and, with `module`, stores the plugin's new module in the same step.
#[utoipa::path(put, path = "/v1/touchpoints/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The touchpoint, or `_events`")),
    request_body = BindRequest,
    responses(
        (status = 200, description = "Stored and bound", body = TouchpointBinding),
        (status = 400, description = "A bad touchpoint name, an unknown plugin or a refused module", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable: nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn bind(
    state: web::Data<AppState>,
    touchpoint: web::Path<String>,
    Json(request): Json<BindRequest>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    check_touchpoint(&touchpoint)?;
    let binding = Binding {
        plugin: request.plugin,
        config: request.config,
    };
    match request.module {
        Some(encoded) => {
            if check_key(&binding.plugin).is_some() {
                return Err(ApiError::BadRequest {
                    field: "plugin".into(),
                    message: "a plugin name uploaded with its binding must be a valid key".into(),
                });
            }
            let module = base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|error| ApiError::BadRequest {
                    field: "module".into(),
                    message: format!("not standard base64: {error}"),
                })?;
            let bind_at = Some((touchpoint.as_str(), &binding));
            use_case::upload(&state, &acting, &binding.plugin, module, bind_at)
                .await
                .map_err(change_error)?;
        }
        None => use_case::bind(&state, &acting, &touchpoint, &binding)
            .await
            .map_err(change_error)?,
    }
    let version = state
        .plugins
        .for_touchpoint(&touchpoint)
        .map(|(plugin, _)| plugin.version().to_owned());
    Ok(HttpResponse::Ok().json(TouchpointBinding {
        touchpoint: touchpoint.into_inner(),
        plugin: binding.plugin,
        config: binding.config,
        version,
    }))
}

/// Removes a touchpoint's binding: its experiments run without a plugin again.
#[utoipa::path(delete, path = "/v1/touchpoints/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The touchpoint, or `_events`")),
    responses(
        (status = 204, description = "Unbound on every server"),
        (status = 404, description = "The touchpoint has no binding", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable: nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn unbind(
    state: web::Data<AppState>,
    touchpoint: web::Path<String>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    check_touchpoint(&touchpoint)?;
    use_case::unbind(&state, &acting, &touchpoint)
        .await
        .map_err(change_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every touchpoint bound to a plugin, with the version this server runs there.
#[utoipa::path(get, path = "/v1/touchpoints", tag = "plugins",
    responses((status = 200, description = "Bindings, by touchpoint", body = TouchpointList)))]
pub(crate) async fn list_bindings(state: web::Data<AppState>) -> HttpResponse {
    let running = state.plugins.running();
    let touchpoints = running
        .bindings
        .iter()
        .map(|(touchpoint, binding)| TouchpointBinding {
            touchpoint: touchpoint.clone(),
            plugin: binding.plugin.clone(),
            config: binding.config.clone(),
            version: running
                .plugins
                .get(&binding.plugin)
                .map(|plugin| plugin.version().to_owned()),
        })
        .collect();
    HttpResponse::Ok().json(TouchpointList { touchpoints })
}

/// A plugin hook, as the plugin-host crate names it (`touchstone_plugin_host::Hook`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookName {
    Eligible,
    Payload,
    Event,
}

/// A plugin's limits per call (`touchstone_plugin_host::Limits`); a test checks the fields match.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub struct PluginLimits {
    /// Fuel per call (about one unit per wasm instruction).
    fuel: u64,
    /// Wall-clock deadline per call, in epoch ticks.
    epoch_ticks: u64,
    memory_bytes: u64,
    input_bytes: u64,
    output_bytes: u64,
    module_bytes: u64,
}
