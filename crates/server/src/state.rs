//! What every handler shares: the store, the catalog of definitions and the settings.

use crate::catalog::CatalogHandle;
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
}
