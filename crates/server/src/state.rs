//! What every handler shares: the store, the catalog of definitions, the settings, the
//! plugins, the plugin-health tally and the clock.

use crate::catalog::CatalogHandle;
use crate::clock::Clock;
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
    /// What time it is: the services read no other clock.
    pub clock: Arc<dyn Clock>,
}
