//! Read-modify-write of one experiment definition, safe across servers: the change is decided
//! on the freshest definitions and saved with a compare-and-set on the definitions version,
//! so it can never overwrite what another server saved in between (a phase, a stop, a
//! guardrail's rollback) and two starts cannot both take one layer range (decision 007).

use crate::http::error::ApiError;
use crate::service::layers;
use crate::state::AppState;
use std::sync::Arc;
use touchstone_model::Experiment;

/// How often an update re-reads and decides again after losing its compare-and-set before
/// giving up with a conflict (each loss means some definition was saved meanwhile).
const SAVE_ATTEMPTS: usize = 8;

/// What an update decides from the definition as it stands (`None`: not defined yet).
pub(crate) enum Decision {
    /// Nothing to save (an idempotent repeat): answer with this.
    Unchanged(Experiment),
    Save(Experiment),
}

pub(crate) struct Updated {
    /// The definition the decision was made on.
    pub before: Option<Arc<Experiment>>,
    pub after: Experiment,
    /// False for [`Decision::Unchanged`].
    pub saved: bool,
}

/// Decides and saves `key`'s next definition; `decide` runs again on fresher definitions
/// whenever another save overtook it. A running experiment in a layer is checked against the
/// running ones of the same definitions it is saved against.
pub(crate) async fn update(
    state: &AppState,
    key: &str,
    mut decide: impl FnMut(Option<&Arc<Experiment>>) -> Result<Decision, ApiError>,
) -> Result<Updated, ApiError> {
    for _ in 0..SAVE_ATTEMPTS {
        state.catalog.reload(state.store.as_ref()).await?;
        let catalog = state.catalog.load();
        let before = catalog.get(key).cloned();
        let next = match decide(before.as_ref())? {
            Decision::Unchanged(after) => {
                return Ok(Updated {
                    before,
                    after,
                    saved: false,
                });
            }
            Decision::Save(next) => next,
        };
        if next.is_running() && next.layer().is_some() {
            layers::check_overlap(&catalog, &next)?;
        }
        if state
            .store
            .save_definition_if(&next, catalog.version)
            .await?
            .is_some()
        {
            // Visible to this server's next request at once.
            state.catalog.reload(state.store.as_ref()).await?;
            return Ok(Updated {
                before,
                after: next,
                saved: true,
            });
        }
    }
    Err(ApiError::Conflict(format!(
        "definitions kept changing while `{key}` was being saved; try again"
    )))
}

/// The 404 of an update whose experiment is not defined.
pub(crate) fn unknown(key: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("experiment `{key}`"),
    }
}
