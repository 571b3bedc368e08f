//! Changing plugins and bindings, safe across servers (decision 019): each change is decided
//! on the store's freshest plugin set and saved with one compare-and-set on the definitions
//! version — a module and the binding that configures it in one step when they come together
//! — then applied here at once; every other server follows within its refresh interval. An
//! answer comes only after the store has it: a store outage is an error, never a local-only
//! success.

use crate::plugins::Binding;
use crate::service::audit::{self, Acting};
use crate::state::AppState;
use serde_json::json;
use touchstone_store::{PluginChange, PluginSet, StoreError, StoredBinding, sha256_hex};

/// How often a change re-reads and decides again after losing its compare-and-set.
const SAVE_ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PluginChangeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The module was refused by this server's checks (`field` names what was sent).
    #[error("plugin refused: {reason}")]
    Refused { field: &'static str, reason: String },
    #[error("no plugin `{0}` is stored; upload it first with PUT /v1/plugins/{0}")]
    UnknownPlugin(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("plugin `{plugin}` is bound to {}; unbind it first (DELETE /v1/touchpoints/…)", touchpoints.join(", "))]
    StillBound {
        plugin: String,
        touchpoints: Vec<String>,
    },
    #[error("other plugin changes kept overtaking this one; retry")]
    Contended,
}

/// What a stored upload made of the module.
#[derive(Debug)]
pub struct Uploaded {
    pub sha256: String,
    /// The short version every exposure the plugin decides records.
    pub version: String,
}

/// Checks `module` with this server's limits and stores it as plugin `name` (with `binding`
/// at `touchpoint` in the same step, when given).
pub async fn upload(
    state: &AppState,
    acting: &Acting,
    name: &str,
    module: Vec<u8>,
    bind_at: Option<(&str, &Binding)>,
) -> Result<Uploaded, PluginChangeError> {
    let field = if bind_at.is_some() { "module" } else { "body" };
    state
        .plugins
        .check(name, module.clone())
        .await
        .map_err(|reason| PluginChangeError::Refused { field, reason })?;
    let sha256 = sha256_hex(&module);
    let version = state
        .plugins
        .host()
        .get(name)
        .filter(|plugin| plugin.sha256() == sha256)
        .map(|plugin| plugin.version().to_owned())
        .unwrap_or_else(|| sha256[..12].to_owned());
    let mut changes = vec![PluginChange::Upload {
        name: name.to_owned(),
        module,
        from_file: None,
    }];
    if let Some((touchpoint, binding)) = bind_at {
        changes.push(PluginChange::Bind {
            touchpoint: touchpoint.to_owned(),
            binding: StoredBinding::from(binding.clone()),
            from_file: None,
        });
    }
    save(state, |_| Ok(changes.clone())).await?;
    let mut entry = json!({"plugin": name, "version": version, "sha256": sha256});
    if let Some((touchpoint, binding)) = bind_at {
        entry["touchpoint"] = json!(touchpoint);
        entry["config"] = binding.config.clone();
        audit::record(state, acting, "plugin_upload_and_bind", None, entry).await;
    } else {
        audit::record(state, acting, "plugin_upload", None, entry).await;
    }
    Ok(Uploaded { sha256, version })
}

/// Binds `touchpoint` to a stored plugin with its config.
pub async fn bind(
    state: &AppState,
    acting: &Acting,
    touchpoint: &str,
    binding: &Binding,
) -> Result<(), PluginChangeError> {
    save(state, |set| {
        if !set.plugins.contains_key(&binding.plugin) {
            return Err(PluginChangeError::UnknownPlugin(binding.plugin.clone()));
        }
        Ok(vec![PluginChange::Bind {
            touchpoint: touchpoint.to_owned(),
            binding: StoredBinding::from(binding.clone()),
            from_file: None,
        }])
    })
    .await?;
    let changes =
        json!({"touchpoint": touchpoint, "plugin": binding.plugin, "config": binding.config});
    audit::record(state, acting, "plugin_bind", None, changes).await;
    Ok(())
}

/// Removes a plugin no touchpoint is bound to.
pub async fn remove(
    state: &AppState,
    acting: &Acting,
    name: &str,
) -> Result<(), PluginChangeError> {
    let mut removed = String::new();
    save(state, |set| {
        let Some(sha256) = set.plugins.get(name) else {
            return Err(PluginChangeError::NotFound(format!("plugin `{name}`")));
        };
        let touchpoints: Vec<String> = set
            .bindings
            .iter()
            .filter(|(_, binding)| binding.plugin == name)
            .map(|(touchpoint, _)| touchpoint.clone())
            .collect();
        if !touchpoints.is_empty() {
            return Err(PluginChangeError::StillBound {
                plugin: name.to_owned(),
                touchpoints,
            });
        }
        removed.clone_from(sha256);
        Ok(vec![PluginChange::Remove {
            name: name.to_owned(),
        }])
    })
    .await?;
    let changes = json!({"plugin": name, "sha256": removed});
    audit::record(state, acting, "plugin_delete", None, changes).await;
    Ok(())
}

/// Removes a touchpoint's binding.
pub async fn unbind(
    state: &AppState,
    acting: &Acting,
    touchpoint: &str,
) -> Result<(), PluginChangeError> {
    let mut was = None;
    save(state, |set| {
        let Some(binding) = set.bindings.get(touchpoint) else {
            return Err(PluginChangeError::NotFound(format!(
                "binding of touchpoint `{touchpoint}`"
            )));
        };
        was = Some(binding.clone());
        Ok(vec![PluginChange::Unbind {
            touchpoint: touchpoint.to_owned(),
        }])
    })
    .await?;
    let changes = json!({"touchpoint": touchpoint, "plugin": was.map(|binding| binding.plugin)});
    audit::record(state, acting, "plugin_unbind", None, changes).await;
    Ok(())
}

/// Decides the changes on the freshest set and saves them with a compare-and-set; decides
/// again when another change overtook it. Then applies the new set on this server at once (a
/// failure there is only logged: the change is stored, and the follower applies it).
async fn save(
    state: &AppState,
    mut decide: impl FnMut(&PluginSet) -> Result<Vec<PluginChange>, PluginChangeError>,
) -> Result<(), PluginChangeError> {
    for _ in 0..SAVE_ATTEMPTS {
        let set = state.store.load_plugins().await?;
        let changes = decide(&set)?;
        if state
            .store
            .save_plugins_if(&changes, set.version)
            .await?
            .is_some()
        {
            if let Err(error) = state.plugins.refresh(state.store.as_ref()).await {
                tracing::warn!(error = %crate::plugins::error_chain(&error), "a stored plugin change is not applied here yet; the refresh will");
            }
            return Ok(());
        }
    }
    Err(PluginChangeError::Contended)
}
