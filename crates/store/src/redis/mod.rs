//! `RedisStore`: Redis (single or Cluster) as the system of record. Every write is one Lua
//! script on one experiment's slot (`keys`), so it is atomic and retry-safe; see KEYS.md.

mod aggregates;
mod audit;
mod connection;
mod events;
mod exposures;
pub(crate) mod keys;
mod marker_expiry;
mod plugin_health;
mod plugins;
mod script_call;
mod session;

use crate::{
    AuditEntry, CountingPlan, Definitions, EventsOutcome, Exposure, ExposureRecord, Session, Slice,
    Snapshot, Store, StoreError,
};
use async_trait::async_trait;
use connection::{Connection, store_error};
use keys::ExperimentKeys;
use redis::{AsyncCommands, Script};
use std::sync::{Arc, LazyLock};
use touchstone_model::{
    Aggregates, Experiment, ExperimentSpec, Holdout, HoldoutSpec, OutcomeEvent, PluginCalls,
    Timestamp,
};

static RECORD_EVENTS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/record_events.lua")));
static SAVE_DEFINITION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/save_definition.lua")));
static SAVE_DEFINITION_IF: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/save_definition_if.lua")));
static LOAD_DEFINITIONS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/load_definitions.lua")));

/// The production store. Cheap to clone; clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    /// First exposures wait here to go out in batches (exposures.rs).
    exposure_queues: Arc<exposures::ExposureQueues>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("cluster", &self.connection.is_cluster())
            .finish()
    }
}

impl RedisStore {
    /// Opens `redis://host:port/db` (single) or `redis-cluster://h1:p1,h2:p2` (Cluster).
    ///
    /// Fails only on a malformed URL (`StoreError::Config`): the connection is made on first
    /// use and remade after failures, so a Redis that is down now makes calls return
    /// `StoreError::Unavailable` until it is back. Call [`Store::ping`] to check at start.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        Ok(RedisStore {
            connection: Connection::open(url)?,
            exposure_queues: Arc::new(exposures::ExposureQueues::new()),
        })
    }

    pub(crate) async fn handle(&self) -> Result<connection::Handle, StoreError> {
        self.connection.handle().await
    }
}

/// Decodes and validates each `key, json` pair of a definitions hash.
fn decode_all<Spec, T, E>(
    flat: &[String],
    kind: &str,
    validate: impl Fn(Spec) -> Result<T, E>,
) -> Result<Vec<T>, StoreError>
where
    Spec: serde::de::DeserializeOwned,
    E: std::error::Error + Send + Sync + 'static,
{
    flat.chunks_exact(2)
        .map(|pair| {
            let (key, json) = (&pair[0], &pair[1]);
            let corrupt = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Corrupt {
                what: format!("stored {kind} `{key}`"),
                source: Some(source),
            };
            let spec: Spec =
                serde_json::from_str(json).map_err(|error| corrupt(Box::new(error)))?;
            validate(spec).map_err(|error| corrupt(Box::new(error)))
        })
        .collect()
}

fn exposure_record(variant: usize, at: i64, new: bool) -> ExposureRecord {
    ExposureRecord {
        variant,
        exposed_at: Timestamp::from_millis(at),
        new,
    }
}

#[async_trait]
impl Store for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut handle = self.handle().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut handle)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn save_definition(&self, experiment: &Experiment) -> Result<u64, StoreError> {
        let json = definition_json(experiment)?;
        let mut handle = self.handle().await?;
        SAVE_DEFINITION
            .key(keys::DEFINITIONS)
            .key(keys::DEFINITIONS_VERSION)
            .arg(experiment.key())
            .arg(json)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)
    }

    async fn save_definition_if(
        &self,
        experiment: &Experiment,
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        let json = definition_json(experiment)?;
        let mut handle = self.handle().await?;
        let version: i64 = SAVE_DEFINITION_IF
            .key(keys::DEFINITIONS)
            .key(keys::DEFINITIONS_VERSION)
            .arg(experiment.key())
            .arg(json)
            .arg(expected)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)?;
        Ok(u64::try_from(version).ok())
    }

    async fn save_holdout(&self, holdout: &Holdout) -> Result<u64, StoreError> {
        let json = holdout_json(holdout)?;
        let mut handle = self.handle().await?;
        SAVE_DEFINITION
            .key(keys::HOLDOUTS)
            .key(keys::DEFINITIONS_VERSION)
            .arg(holdout.key())
            .arg(json)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)
    }

    async fn save_holdout_if(
        &self,
        holdout: &Holdout,
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        let json = holdout_json(holdout)?;
        let mut handle = self.handle().await?;
        // The experiments' compare-and-set script, on the holdouts' hash: one version counter.
        let version: i64 = SAVE_DEFINITION_IF
            .key(keys::HOLDOUTS)
            .key(keys::DEFINITIONS_VERSION)
            .arg(holdout.key())
            .arg(json)
            .arg(expected)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)?;
        Ok(u64::try_from(version).ok())
    }

    async fn load_definitions(&self) -> Result<Definitions, StoreError> {
        let mut handle = self.handle().await?;
        let (version, flat, flat_holdouts): (u64, Vec<String>, Vec<String>) = LOAD_DEFINITIONS
            .key(keys::DEFINITIONS)
            .key(keys::DEFINITIONS_VERSION)
            .key(keys::HOLDOUTS)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)?;
        let mut experiments = decode_all(&flat, "definition", |spec: ExperimentSpec| {
            Experiment::new(spec)
        })?;
        experiments.sort_by(|a, b| a.key().cmp(b.key()));
        let mut holdouts = decode_all(&flat_holdouts, "holdout", |spec: HoldoutSpec| {
            Holdout::new(spec)
        })?;
        holdouts.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(Definitions {
            version,
            experiments,
            holdouts,
        })
    }

    async fn definitions_version(&self) -> Result<u64, StoreError> {
        let mut handle = self.handle().await?;
        let version: Option<u64> = handle
            .get(keys::DEFINITIONS_VERSION)
            .await
            .map_err(store_error)?;
        Ok(version.unwrap_or(0))
    }

    async fn record_exposure(
        &self,
        experiment: &Experiment,
        exposure: &Exposure,
    ) -> Result<ExposureRecord, StoreError> {
        exposures::record(self, experiment, exposure).await
    }

    async fn find_exposures(
        &self,
        unit_id: &str,
        experiments: &[Arc<Experiment>],
    ) -> Result<Vec<Option<ExposureRecord>>, StoreError> {
        let handle = self.handle().await?;
        let reads = experiments.iter().map(|experiment| {
            let mut handle = handle.clone();
            let key = ExperimentKeys::of(experiment).unit(unit_id);
            async move {
                let (variant, at): (Option<usize>, Option<i64>) = redis::cmd("HMGET")
                    .arg(key)
                    .arg("v")
                    .arg("t")
                    .query_async(&mut handle)
                    .await
                    .map_err(store_error)?;
                Ok::<_, StoreError>(match (variant, at) {
                    (Some(variant), Some(at)) => Some(exposure_record(variant, at, false)),
                    _ => None,
                })
            }
        });
        futures::future::try_join_all(reads).await
    }

    async fn record_planned_events(
        &self,
        plans: &[Arc<CountingPlan>],
        events: &[OutcomeEvent],
    ) -> Result<EventsOutcome, StoreError> {
        events::record(self, plans, events).await
    }

    async fn load_aggregates(&self, experiment: &Experiment) -> Result<Aggregates, StoreError> {
        let keys = ExperimentKeys::of(experiment);
        let mut handle = self.handle().await?;
        let (fields, hours): (Vec<(String, String)>, Vec<(String, u64)>) = redis::pipe()
            .hgetall(keys.counters())
            .hgetall(keys.exposure_hours())
            .query_async(&mut handle)
            .await
            .map_err(store_error)?;
        let mut aggregates = aggregates::from_fields(experiment, &fields)?;
        aggregates::add_exposure_hours(&mut aggregates, &hours);
        Ok(aggregates)
    }

    async fn load_slices(
        &self,
        experiment: &Experiment,
        attribute: &str,
    ) -> Result<Vec<Slice>, StoreError> {
        aggregates::load_slices(self, experiment, attribute).await
    }

    async fn save_snapshot(
        &self,
        experiment: &Experiment,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        aggregates::save_snapshot(self, experiment, snapshot).await
    }

    async fn load_snapshots(&self, experiment: &Experiment) -> Result<Vec<Snapshot>, StoreError> {
        aggregates::load_snapshots(self, experiment).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(self, entry).await
    }

    async fn load_audit(
        &self,
        experiment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::load(self, experiment, limit).await
    }

    async fn claim_guardrail(
        &self,
        experiment: &str,
        subject: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        audit::claim_guardrail(self, experiment, subject, ttl).await
    }

    async fn release_guardrail(&self, experiment: &str) -> Result<(), StoreError> {
        audit::release_guardrail(self, experiment).await
    }

    async fn add_plugin_health(
        &self,
        experiment: &Experiment,
        calls: &[PluginCalls],
    ) -> Result<(), StoreError> {
        plugin_health::add(self, experiment, calls).await
    }

    async fn load_plugin_health(
        &self,
        experiment: &Experiment,
    ) -> Result<Vec<PluginCalls>, StoreError> {
        plugin_health::load(self, experiment).await
    }

    async fn create_session(
        &self,
        token_digest: &str,
        session: &Session,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        session::create(self, token_digest, session, ttl).await
    }

    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        session::load(self, token_digest).await
    }

    async fn revoke_session(&self, token_digest: &str) -> Result<(), StoreError> {
        session::revoke(self, token_digest).await
    }

    async fn save_plugins_if(
        &self,
        changes: &[crate::PluginChange],
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        plugins::save_if(self, changes, expected).await
    }

    async fn load_plugins(&self) -> Result<crate::PluginSet, StoreError> {
        plugins::load(self).await
    }

    async fn load_module(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        plugins::module(self, sha256).await
    }

    async fn report_server(&self, report: &crate::ServerPlugins) -> Result<(), StoreError> {
        plugins::report(self, report).await
    }

    async fn load_servers(&self, now: Timestamp) -> Result<Vec<crate::ServerPlugins>, StoreError> {
        plugins::servers(self, now).await
    }

    async fn expire_event_markers(&self, now: Timestamp) -> Result<u64, StoreError> {
        match self.handle().await? {
            mut handle @ connection::Handle::Single(_) => {
                marker_expiry::sweep(&mut handle, now).await
            }
            // A Cluster's markers are written with a TTL (marker_expiry.rs says why).
            _ => Ok(0),
        }
    }
}

fn definition_json(experiment: &Experiment) -> Result<String, StoreError> {
    serde_json::to_string(experiment.spec()).map_err(|error| StoreError::Corrupt {
        what: format!("definition `{}` could not be encoded", experiment.key()),
        source: Some(Box::new(error)),
    })
}

fn holdout_json(holdout: &Holdout) -> Result<String, StoreError> {
    serde_json::to_string(holdout.spec()).map_err(|error| StoreError::Corrupt {
        what: format!("holdout `{}` could not be encoded", holdout.key()),
        source: Some(Box::new(error)),
    })
}
