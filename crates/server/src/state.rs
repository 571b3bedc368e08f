//! What every handler shares: the store, the catalog of definitions, the settings, the
//! plugins and the plugin-health tally.

use crate::catalog::CatalogHandle;
use crate::plugin_health::PluginHealthTally;
use crate::plugins::Plugins;
use crate::settings::Settings;
use std::sync::Arc;
use touchstone_store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub catalog: Arc<CatalogHandle>,
    pub settings: Arc<Settings>,
    pub plugins: Arc<Plugins>,
    /// Plugin calls and fallbacks not yet flushed to the store.
    pub plugin_health: Arc<PluginHealthTally>,
}
