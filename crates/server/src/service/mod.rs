//! The server's use cases, one module per area; handlers call exactly one of these.

pub mod assign;
pub mod attributes;
pub mod audit;
pub mod definitions;
pub mod event_plugin;
pub mod events;
pub mod experiments;
pub mod exposures;
pub mod holdouts;
pub mod interactions;
pub mod layers;
pub mod ofrep;
pub mod phases;
pub mod plugin_context;
pub mod plugins;
pub mod results;

use crate::error::ServiceError;
use crate::state::AppState;
use std::sync::Arc;
use touchstone_model::Experiment;

/// The current definition of `key` from the catalog, or a 404 naming it.
pub(crate) fn known_experiment(
    state: &AppState,
    key: &str,
) -> Result<Arc<Experiment>, ServiceError> {
    state
        .catalog
        .load()
        .get(key)
        .cloned()
        .ok_or_else(|| ServiceError::NotFound {
            what: format!("experiment `{key}`"),
        })
}
