//! Read-modify-write of one definition — an experiment or a holdout — safe across servers: the
//! change is decided on the freshest definitions and saved with a compare-and-set on the
//! definitions version, so it can never overwrite what another server saved in between (a
//! phase, a stop, a guardrail's rollback, a holdout's stop) and two starts cannot both take one
//! layer range (decision 007). Every definition change goes through [`update`] (or
//! [`update_with`], which runs a step before each save: a phase's snapshot).

use crate::catalog::Catalog;
use crate::error::ServiceError;
use crate::service::layers;
use crate::state::AppState;
use futures::future::BoxFuture;
use std::sync::Arc;
use touchstone_model::{Experiment, Holdout};
use touchstone_store::{Store, StoreError};

/// How often an update re-reads and decides again after losing its compare-and-set before
/// giving up with a conflict (each loss means some definition was saved meanwhile).
const SAVE_ATTEMPTS: usize = 8;

/// A kind of definition kept in the catalog and saved under the definitions version.
pub(crate) trait Definition: Clone + Send + Sync + 'static {
    /// How a message names the kind: `experiment`, `holdout`.
    const KIND: &'static str;
    /// The definition of `key` in `catalog`, if any.
    fn current(catalog: &Catalog, key: &str) -> Option<Arc<Self>>;
    /// What `next` must not break among the definitions it is saved against.
    fn check(catalog: &Catalog, next: &Self) -> Result<(), ServiceError>;
    /// Saves `next` if the definitions version is still `version` (see
    /// `Store::save_definition_if`).
    fn save_if<'a>(
        store: &'a dyn Store,
        next: &'a Self,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>>;
}

impl Definition for Experiment {
    const KIND: &'static str = "experiment";

    fn current(catalog: &Catalog, key: &str) -> Option<Arc<Self>> {
        catalog.get(key).cloned()
    }

    /// A running experiment in a layer may not overlap a running one of the same layer.
    fn check(catalog: &Catalog, next: &Self) -> Result<(), ServiceError> {
        layers::check_overlap(catalog, next)
    }

    fn save_if<'a>(
        store: &'a dyn Store,
        next: &'a Self,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        store.save_definition_if(next, version)
    }
}

impl Definition for Holdout {
    const KIND: &'static str = "holdout";

    fn current(catalog: &Catalog, key: &str) -> Option<Arc<Self>> {
        catalog.holdout(key).cloned()
    }

    fn check(_: &Catalog, _: &Self) -> Result<(), ServiceError> {
        Ok(())
    }

    fn save_if<'a>(
        store: &'a dyn Store,
        next: &'a Self,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        store.save_holdout_if(next, version)
    }
}

/// What an update decides from the definition as it stands (`None`: not defined yet).
pub(crate) enum Change<D> {
    /// Nothing to save (an idempotent repeat): answer with this.
    Unchanged(D),
    Save(D),
}

pub(crate) struct Updated<D> {
    /// The definition the decision was made on.
    pub before: Option<Arc<D>>,
    pub after: D,
    /// False for [`Change::Unchanged`].
    pub saved: bool,
}

/// Decides and saves `key`'s next definition; `decide` runs again on fresher definitions
/// whenever another save overtook it. The next definition is checked ([`Definition::check`])
/// against the same definitions it is saved against.
pub(crate) async fn update<D: Definition>(
    state: &AppState,
    key: &str,
    decide: impl FnMut(Option<&Arc<D>>) -> Result<Change<D>, ServiceError>,
) -> Result<Updated<D>, ServiceError> {
    update_with(state, key, decide, async |_, _| Ok(())).await
}

/// [`update`] with `before_save(before, next)` run after each decision to save and before its
/// compare-and-set (again on every retry): what must be in the store before the new definition
/// is (a phase saves the ending phase's aggregates as today's snapshot there).
pub(crate) async fn update_with<D: Definition>(
    state: &AppState,
    key: &str,
    mut decide: impl FnMut(Option<&Arc<D>>) -> Result<Change<D>, ServiceError>,
    mut before_save: impl AsyncFnMut(Option<&Arc<D>>, &D) -> Result<(), ServiceError>,
) -> Result<Updated<D>, ServiceError> {
    for _ in 0..SAVE_ATTEMPTS {
        state.catalog.reload(state.store.as_ref()).await?;
        let catalog = state.catalog.load();
        let before = D::current(&catalog, key);
        let next = match decide(before.as_ref())? {
            Change::Unchanged(after) => {
                return Ok(Updated {
                    before,
                    after,
                    saved: false,
                });
            }
            Change::Save(next) => next,
        };
        D::check(&catalog, &next)?;
        before_save(before.as_ref(), &next).await?;
        if D::save_if(state.store.as_ref(), &next, catalog.version)
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
    Err(ServiceError::Conflict(format!(
        "definitions kept changing while `{key}` was being saved; try again"
    )))
}

/// The 404 of an update whose definition is not defined.
pub(crate) fn unknown<D: Definition>(key: &str) -> ServiceError {
    ServiceError::NotFound {
        what: format!("{} `{key}`", D::KIND),
    }
}
