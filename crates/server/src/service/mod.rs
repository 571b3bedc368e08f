//! The server's use cases, one module per area; handlers call exactly one of these.

pub mod assign;
pub mod audit;
pub mod definitions;
pub mod event_plugin;
pub mod events;
pub mod experiments;
pub mod holdouts;
pub mod interactions;
pub mod layers;
pub mod phases;
pub mod plugin_context;
pub mod results;

use crate::http::error::ApiError;
use crate::state::AppState;
use std::sync::Arc;
use touchstone_model::Experiment;

/// The current definition of `key` from the catalog, or a 404 naming it.
pub(crate) fn known_experiment(state: &AppState, key: &str) -> Result<Arc<Experiment>, ApiError> {
    state
        .catalog
        .load()
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what: format!("experiment `{key}`"),
        })
}
