//! The read-mostly view of experiment and holdout definitions that every request consults. It is swapped
//! whole (`ArcSwap`), never locked: `/v1/assign` takes no lock. Rebuilt from the store when the
//! definitions version moves — by this server's own writes at once, by other servers' within
//! one refresh interval.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use touchstone_model::{Experiment, Holdout};
use touchstone_store::{CountingPlan, Definitions, Store, StoreError};

mod decision;
pub use decision::{Candidate, Decision, HoldoutGroup, Placement, Winner};

/// An immutable snapshot of all definitions, indexed for the hot paths.
#[derive(Debug, Default)]
pub struct Catalog {
    pub version: u64,
    by_key: HashMap<String, Arc<Experiment>>,
    running_by_touchpoint: HashMap<String, Vec<Arc<Experiment>>>,
    shipped_by_touchpoint: HashMap<String, Vec<Arc<Experiment>>>,
    running: Vec<Arc<Experiment>>,
    /// Every holdout, by key (ordered, for listing).
    holdouts: std::collections::BTreeMap<String, Arc<Holdout>>,
    running_holdouts: Vec<Arc<Holdout>>,
    /// What events count for: the running experiments, then the running holdouts' synthetic
    /// experiments.
    counted: Vec<Arc<Experiment>>,
    /// `counted`, each compiled for counting once here rather than on every events request.
    counting_plans: Vec<Arc<CountingPlan>>,
}

impl Catalog {
    pub fn new(definitions: Definitions) -> Self {
        let mut catalog = Catalog {
            version: definitions.version,
            ..Catalog::default()
        };
        let holdouts = definitions.holdouts;
        let mut experiments: Vec<Arc<Experiment>> =
            definitions.experiments.into_iter().map(Arc::new).collect();
        experiments.sort_by(|a, b| a.key().cmp(b.key()));
        for experiment in experiments {
            if experiment.is_running() {
                catalog
                    .running_by_touchpoint
                    .entry(experiment.touchpoint().to_owned())
                    .or_default()
                    .push(Arc::clone(&experiment));
                catalog.running.push(Arc::clone(&experiment));
            }
            if experiment.shipped_variant().is_some() {
                catalog
                    .shipped_by_touchpoint
                    .entry(experiment.touchpoint().to_owned())
                    .or_default()
                    .push(Arc::clone(&experiment));
            }
            catalog
                .by_key
                .insert(experiment.key().to_owned(), experiment);
        }
        catalog.counted = catalog.running.clone();
        for holdout in holdouts {
            let holdout = Arc::new(holdout);
            if holdout.is_running() {
                catalog.counted.push(Arc::new(holdout.experiment().clone()));
                catalog.running_holdouts.push(Arc::clone(&holdout));
            }
            catalog.holdouts.insert(holdout.key().to_owned(), holdout);
        }
        catalog
            .running_holdouts
            .sort_by(|a, b| a.key().cmp(b.key()));
        catalog.counting_plans = catalog
            .counted
            .iter()
            .map(|experiment| Arc::new(CountingPlan::compile(Arc::clone(experiment))))
            .collect();
        catalog
    }

    pub fn get(&self, key: &str) -> Option<&Arc<Experiment>> {
        self.by_key.get(key)
    }

    /// Every definition, ordered by key.
    pub fn all(&self) -> Vec<&Arc<Experiment>> {
        let mut all: Vec<_> = self.by_key.values().collect();
        all.sort_by(|a, b| a.key().cmp(b.key()));
        all
    }

    /// Running experiments at a touchpoint (empty for an unknown touchpoint).
    pub fn running_at(&self, touchpoint: &str) -> &[Arc<Experiment>] {
        self.running_by_touchpoint
            .get(touchpoint)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Shipped experiments at a touchpoint: their winners are served, nothing is recorded.
    pub fn shipped_at(&self, touchpoint: &str) -> &[Arc<Experiment>] {
        self.shipped_by_touchpoint
            .get(touchpoint)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every running experiment.
    pub fn running(&self) -> &[Arc<Experiment>] {
        &self.running
    }

    /// Every experiment events count for: the running ones and the running holdouts'
    /// synthetic experiments.
    pub fn counted(&self) -> &[Arc<Experiment>] {
        &self.counted
    }

    /// [`Self::counted`], compiled for the store's counting (same order).
    pub fn counting_plans(&self) -> &[Arc<CountingPlan>] {
        &self.counting_plans
    }

    pub fn holdout(&self, key: &str) -> Option<&Arc<Holdout>> {
        self.holdouts.get(key)
    }

    /// Every holdout, ordered by key.
    pub fn holdouts(&self) -> impl Iterator<Item = &Arc<Holdout>> {
        self.holdouts.values()
    }

    /// The running holdouts whose touchpoints cover `touchpoint`, ordered by key.
    pub fn holdouts_at<'a>(
        &'a self,
        touchpoint: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Holdout>> {
        self.running_holdouts
            .iter()
            .filter(move |holdout| holdout.covers(touchpoint))
    }
}

/// The shared, swappable catalog.
#[derive(Debug, Default)]
pub struct CatalogHandle {
    current: ArcSwap<Catalog>,
}

impl CatalogHandle {
    pub fn load(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// Reloads every definition from the store and swaps the catalog in.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let definitions = store.load_definitions().await?;
        self.current.store(Arc::new(Catalog::new(definitions)));
        Ok(())
    }

    /// Polls the store's definitions version and reloads when it moved. Runs until the
    /// process ends; a failing store is logged once per outage and retried.
    pub async fn keep_fresh(self: Arc<Self>, store: Arc<dyn Store>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticker.tick().await;
            let result = match store.definitions_version().await {
                Ok(version) if version == self.load().version => Ok(()),
                Ok(_) => self.reload(store.as_ref()).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(()) if failing => {
                    failing = false;
                    tracing::warn!("definitions refresh recovered");
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(error = %error, "definitions refresh failed; serving the last known definitions");
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::{HoldoutSpec, HoldoutStatus};

    fn experiment(key: &str, touchpoint: &str) -> Experiment {
        let spec = serde_json::from_value(json!({
            "key": key, "touchpoint": touchpoint, "status": "running", "journey": ["purchase"],
            "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
        }))
        .expect("spec");
        Experiment::new(spec).expect("valid")
    }

    fn holdout(key: &str, share: f64, touchpoints: &[&str]) -> Holdout {
        let spec: HoldoutSpec = serde_json::from_value(json!({
            "key": key, "share": share, "touchpoints": touchpoints, "journey": ["purchase"],
        }))
        .expect("spec");
        Holdout::new(spec).expect("valid")
    }

    #[test]
    fn running_holdouts_are_counted_and_scoped_by_touchpoint() {
        let catalog = Catalog::new(Definitions {
            version: 3,
            experiments: vec![experiment("gallery", "pdp.gallery")],
            holdouts: vec![
                holdout("everywhere", 0.5, &["*"]),
                holdout("gallery-only", 0.5, &["pdp.gallery"]),
                holdout("old", 0.5, &["*"]).with_status(HoldoutStatus::Stopped),
            ],
        });
        let counted: Vec<&str> = catalog.counted().iter().map(|e| e.key()).collect();
        assert_eq!(
            counted,
            ["gallery", "holdout:everywhere", "holdout:gallery-only"]
        );
        assert_eq!(catalog.running().len(), 1, "holdouts are not experiments");
        let keys = |touchpoint| -> Vec<String> {
            catalog
                .holdouts_at(touchpoint)
                .map(|h| h.key().to_owned())
                .collect()
        };
        assert_eq!(keys("pdp.gallery"), ["everywhere", "gallery-only"]);
        assert_eq!(keys("checkout.shipping"), ["everywhere"]);
        assert_eq!(catalog.holdouts().count(), 3);
        assert!(catalog.holdout("old").is_some() && catalog.get("old").is_none());
        // The first holdout (by key) that holds the unit out at the touchpoint.
        for index in 0..200 {
            let unit = format!("unit-{index}");
            let expected = ["everywhere", "gallery-only"]
                .into_iter()
                .find(|key| catalog.holdout(key).is_some_and(|h| h.holds_out(&unit)));
            assert_eq!(
                catalog
                    .decide("pdp.gallery", &unit, &serde_json::Map::new())
                    .held_out_by
                    .map(|h| h.key()),
                expected
            );
        }
    }
}
