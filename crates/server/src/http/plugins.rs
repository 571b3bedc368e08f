//! `/v1/plugins` (upload, list) and `/v1/touchpoints` (bind a plugin and its config).

use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::plugins::Binding;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use touchstone_model::validation::check_key;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/plugins", web::get().to(list_plugins))
        .route("/plugins/{name}", web::put().to(upload))
        .route("/touchpoints", web::get().to(list_bindings))
        .route("/touchpoints/{name}", web::put().to(bind));
}

async fn upload(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
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
    Ok(HttpResponse::Ok().json(json!({
        "name": plugin.name(),
        "version": plugin.version(),
        "hooks": plugin.hooks(),
    })))
}

async fn list_plugins(state: web::Data<AppState>) -> HttpResponse {
    let host = state.plugins.host();
    let failures = host.failure_counts();
    let mut plugins: Vec<Value> = host
        .plugins()
        .iter()
        .map(|plugin| {
            let failed: Vec<Value> = failures
                .iter()
                .filter(|failure| failure.plugin == plugin.name())
                .map(|failure| json!({"hook": failure.hook, "reason": failure.reason, "count": failure.count}))
                .collect();
            json!({
                "name": plugin.name(),
                "version": plugin.version(),
                "hooks": plugin.hooks(),
                "limits": plugin.limits(),
                "failures": failed,
            })
        })
        .collect();
    plugins.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    HttpResponse::Ok().json(json!({ "plugins": plugins }))
}

async fn bind(
    state: web::Data<AppState>,
    touchpoint: web::Path<String>,
    Json(binding): Json<Binding>,
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
    Ok(HttpResponse::Ok().json(json!({"touchpoint": touchpoint.as_str(), "plugin": binding.plugin, "config": binding.config})))
}

async fn list_bindings(state: web::Data<AppState>) -> HttpResponse {
    let mut bindings: Vec<Value> = state
        .plugins
        .bindings()
        .into_iter()
        .map(|(touchpoint, binding)| json!({"touchpoint": touchpoint, "plugin": binding.plugin, "config": binding.config}))
        .collect();
    bindings.sort_by(|a, b| a["touchpoint"].as_str().cmp(&b["touchpoint"].as_str()));
    HttpResponse::Ok().json(json!({ "touchpoints": bindings }))
}
