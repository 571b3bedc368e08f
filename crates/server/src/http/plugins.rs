//! `/v1/plugins` (upload, list) and `/v1/touchpoints` (bind a plugin and its config).

use crate::http::error::{ApiError, Problem};
use crate::http::json::Json;
use crate::http::openapi::{HookName, PluginLimits};
use crate::plugins::Binding;
use crate::service::audit::{self, Acting};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};
use touchstone_model::validation::check_key;
use touchstone_plugin_host::{Hook, Limits};
use utoipa::ToSchema;

/// A plugin as uploaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginUploaded<'a> {
    pub name: &'a str,
    /// Short digest of the module: changes with every new upload.
    pub version: &'a str,
    #[schema(value_type = Vec<HookName>)]
    pub hooks: &'a [Hook],
}

/// A loaded plugin, its limits and its failures so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    pub name: String,
    pub version: String,
    #[schema(value_type = Vec<HookName>)]
    pub hooks: Vec<Hook>,
    #[schema(value_type = PluginLimits)]
    pub limits: Limits,
    pub failures: Vec<PluginFailure>,
    /// Fuel used per call of each hook since the server started (p50/p99 are bucket upper
    /// bounds, within 12.5 %), against `limits.fuel`.
    pub fuel: Vec<PluginFuel>,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginList {
    pub plugins: Vec<PluginView>,
}

/// A touchpoint bound to a plugin, with the plugin's configuration there.
#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointBinding {
    pub touchpoint: String,
    pub plugin: String,
    #[schema(value_type = Object)]
    pub config: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointList {
    pub touchpoints: Vec<TouchpointBinding>,
}

/// Uploads (or replaces) a WASM plugin module. It is validated, compiled and takes effect at
/// once for the touchpoints bound to it.
#[utoipa::path(put, path = "/v1/plugins/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The plugin name")),
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "The module"),
    responses(
        (status = 200, description = "Loaded", body = PluginUploaded),
        (status = 400, description = "A bad name, or a module the host refused (with why)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Module larger than server.max_body_bytes", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn upload(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    if let Some(problem) = check_key(&name) {
        return Err(ApiError::BadRequest {
            field: "name".into(),
            message: problem.into(),
        });
    }
    let plugin = state
        .plugins
        .upload(&name, &body)
        .map_err(|error| ApiError::BadRequest {
            field: "body".into(),
            message: format!("plugin refused: {error}"),
        })?;
    tracing::info!(plugin = %name, version = plugin.version(), "plugin uploaded");
    let changes =
        json!({"plugin": plugin.name(), "version": plugin.version(), "hooks": plugin.hooks()});
    audit::record(&state, &acting, "plugin_upload", None, changes).await;
    Ok(HttpResponse::Ok().json(PluginUploaded {
        name: plugin.name(),
        version: plugin.version(),
        hooks: plugin.hooks(),
    }))
}

/// Every loaded plugin with its hooks, limits and failure counts.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins",
    responses((status = 200, description = "Loaded plugins, by name", body = PluginList)))]
pub(crate) async fn list_plugins(state: web::Data<AppState>) -> HttpResponse {
    let host = state.plugins.host();
    let failures = host.failure_counts();
    let fuel = host.fuel_stats();
    let mut plugins: Vec<PluginView> = host
        .plugins()
        .iter()
        .map(|plugin| PluginView {
            name: plugin.name().to_owned(),
            version: plugin.version().to_owned(),
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
        })
        .collect();
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    HttpResponse::Ok().json(PluginList { plugins })
}

/// Binds a touchpoint (or `_events`, for the events hook) to a loaded plugin with its config.
#[utoipa::path(put, path = "/v1/touchpoints/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The touchpoint, or `_events`")),
    request_body = crate::plugins::Binding,
    responses(
        (status = 200, description = "Bound", body = TouchpointBinding),
        (status = 400, description = "A bad touchpoint name or an unknown plugin", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn bind(
    state: web::Data<AppState>,
    touchpoint: web::Path<String>,
    Json(binding): Json<Binding>,
    acting: Acting,
) -> Result<HttpResponse, ApiError> {
    if touchpoint.is_empty() || touchpoint.len() > 128 {
        return Err(ApiError::BadRequest {
            field: "touchpoint".into(),
            message: "must be 1 to 128 characters".into(),
        });
    }
    if state.plugins.host().get(&binding.plugin).is_none() {
        return Err(ApiError::BadRequest {
            field: "plugin".into(),
            message: format!(
                "no plugin `{}` is loaded; upload it first with PUT /v1/plugins/{}",
                binding.plugin, binding.plugin
            ),
        });
    }
    state.plugins.bind(&touchpoint, binding.clone());
    let changes = json!({"touchpoint": touchpoint.as_str(), "plugin": binding.plugin, "config": binding.config});
    audit::record(&state, &acting, "plugin_bind", None, changes).await;
    Ok(HttpResponse::Ok().json(TouchpointBinding {
        touchpoint: touchpoint.into_inner(),
        plugin: binding.plugin,
        config: binding.config,
    }))
}

/// Every touchpoint bound to a plugin.
#[utoipa::path(get, path = "/v1/touchpoints", tag = "plugins",
    responses((status = 200, description = "Bindings, by touchpoint", body = TouchpointList)))]
pub(crate) async fn list_bindings(state: web::Data<AppState>) -> HttpResponse {
    let mut touchpoints: Vec<TouchpointBinding> = state
        .plugins
        .bindings()
        .into_iter()
        .map(|(touchpoint, binding)| TouchpointBinding {
            touchpoint,
            plugin: binding.plugin.clone(),
            config: binding.config.clone(),
        })
        .collect();
    touchpoints.sort_by(|a, b| a.touchpoint.cmp(&b.touchpoint));
    HttpResponse::Ok().json(TouchpointList { touchpoints })
}
