//! The `Store` trait: Touchstone's system of record, in the product's verbs.

use crate::{
    AuditEntry, CountingPlan, Exposure, ExposureRecord, PluginChange, PluginSet, ServerPlugins,
    Session, StoreError,
};
use async_trait::async_trait;
use std::sync::Arc;
use touchstone_model::{Aggregates, Experiment, Holdout, OutcomeEvent, PluginCalls};

/// All experiment and holdout definitions with the version they were read at.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    /// Grows by one with every saved definition (experiment or holdout); servers poll it to
    /// refresh their cache.
    pub version: u64,
    pub experiments: Vec<Experiment>,
    /// Ordered by key.
    pub holdouts: Vec<Holdout>,
}

/// One value of a segment attribute (a slice) with the aggregates of its units.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// The attribute's value, `(none)` for units that did not send it, `(other)` for values
    /// past the experiment's `max_segment_values`.
    pub value: String,
    pub aggregates: Aggregates,
}

/// An experiment's aggregates as they stood at the end of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `YYYY-MM-DD` in the configured time zone.
    pub day: String,
    pub aggregates: Aggregates,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// First time this event id was seen. `counted` experiments had the unit exposed and the
    /// event inside a window (0 is normal: the unit may be in no experiment).
    Accepted { counted: u32 },
    /// The id was seen before; nothing changed.
    Duplicate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsOutcome {
    /// One entry per event, in input order.
    pub outcomes: Vec<EventOutcome>,
}

impl EventsOutcome {
    pub fn accepted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, EventOutcome::Accepted { .. }))
            .count()
    }

    pub fn duplicates(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, EventOutcome::Duplicate))
            .count()
    }
}

/// Touchstone's system of record. Implementations must pass the conformance suite
/// (`crates/store/tests/it/conformance.rs`), which runs against every backend.
///
/// Semantics every implementation keeps:
/// - an exposure is idempotent: first exposure wins (variant, time, segments, plugin version),
///   and the variant's unit counter moves only for a new unit;
/// - an event is de-duplicated by its id (a retried batch never double-counts), and counted for
///   each given experiment the unit is exposed to, only at or after exposure and inside each
///   stage's / metric's window; a unit reaches a stage at most once;
/// - an id is reported `Duplicate` only when an earlier call processed it; two calls racing
///   with the same new id count it once but may both answer `Accepted`;
/// - when a call returns `Ok`, everything it reports is durable as far as the backend is;
///   when it returns `Err`, a retry of the same call is safe;
/// - exposures, events, counters, slices, exposure hours and snapshots are kept per phase:
///   every call works in the phase of the experiment it is given (`Experiment::phase`), so a
///   new phase starts from nothing and an earlier one is read through `Experiment::at_phase`;
///   the audit log and guardrail claims belong to the experiment key, across phases.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs: `memory` or `redis`.
    fn kind(&self) -> &'static str;

    /// Whether the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Saves (creates or replaces) a definition and returns the new definitions version.
    async fn save_definition(&self, experiment: &Experiment) -> Result<u64, StoreError>;

    /// Saves a definition only if the definitions version is still `expected` — a
    /// compare-and-set, so a decision checked against the definitions at `expected` (a layer
    /// range being free) cannot be overtaken by another server's save. Returns the new version,
    /// or `None` (nothing saved) when the version moved.
    async fn save_definition_if(
        &self,
        experiment: &Experiment,
        expected: u64,
    ) -> Result<Option<u64>, StoreError>;

    /// Saves (creates or replaces) a holdout beside the experiment definitions and returns the
    /// new definitions version (the same counter, so every server's catalog refreshes).
    async fn save_holdout(&self, holdout: &Holdout) -> Result<u64, StoreError>;

    /// Saves a holdout only if the definitions version is still `expected` (the
    /// compare-and-set of [`Store::save_definition_if`], on the same counter). Returns the new
    /// version, or `None` (nothing saved) when the version moved.
    async fn save_holdout_if(
        &self,
        holdout: &Holdout,
        expected: u64,
    ) -> Result<Option<u64>, StoreError>;

    /// Every saved definition, experiments and holdouts, read together.
    async fn load_definitions(&self) -> Result<Definitions, StoreError>;

    /// The current definitions version (cheap; polled).
    async fn definitions_version(&self) -> Result<u64, StoreError>;

    /// Records an exposure if the unit has none in this experiment; returns the stored one.
    async fn record_exposure(
        &self,
        experiment: &Experiment,
        exposure: &Exposure,
    ) -> Result<ExposureRecord, StoreError>;

    /// The unit's existing exposure in each experiment (same order), without recording any.
    async fn find_exposures(
        &self,
        unit_id: &str,
        experiments: &[Arc<Experiment>],
    ) -> Result<Vec<Option<ExposureRecord>>, StoreError>;

    /// Records a batch of validated events against the given (running) experiments, each
    /// compiled once ([`CountingPlan::compile`]) when its definition loaded. All or nothing per
    /// store call: when it fails, no unit state, counter, seen id or processed marker of the
    /// batch was written by that call (a retry counts every event once); an event's processed
    /// marker exists only once every experiment counted it.
    async fn record_planned_events(
        &self,
        plans: &[Arc<CountingPlan>],
        events: &[OutcomeEvent],
    ) -> Result<EventsOutcome, StoreError>;

    /// [`Self::record_planned_events`] compiling the experiments' plans for this call only —
    /// for tools and tests; the server keeps compiled plans in its catalog.
    async fn record_events(
        &self,
        experiments: &[Arc<Experiment>],
        events: &[OutcomeEvent],
    ) -> Result<EventsOutcome, StoreError> {
        let plans: Vec<Arc<CountingPlan>> = experiments
            .iter()
            .map(|experiment| Arc::new(CountingPlan::compile(Arc::clone(experiment))))
            .collect();
        self.record_planned_events(&plans, events).await
    }

    /// Current aggregates of one experiment, O(variants × (stages + metrics)).
    async fn load_aggregates(&self, experiment: &Experiment) -> Result<Aggregates, StoreError>;

    /// Current aggregates of every slice of one segment attribute, ordered by value, each
    /// O(variants × (stages + metrics)); at most `max_segment_values` + 2 slices.
    async fn load_slices(
        &self,
        experiment: &Experiment,
        attribute: &str,
    ) -> Result<Vec<Slice>, StoreError>;

    /// Saves (creates or replaces) the snapshot of `day`.
    async fn save_snapshot(
        &self,
        experiment: &Experiment,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError>;

    /// Every snapshot of the experiment, oldest day first.
    async fn load_snapshots(&self, experiment: &Experiment) -> Result<Vec<Snapshot>, StoreError>;

    /// Appends an admin action to the experiment's audit log (`entry.experiment`), or to the
    /// global one (plugins, bindings) when it names none.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries (at most [`crate::MAX_AUDIT_READ`]) of an experiment's audit
    /// log, or of the global one for `None`, newest first.
    async fn load_audit(
        &self,
        experiment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Claims the right to act on `experiment`'s guardrail `subject` (`harm`, `srm`) for
    /// `ttl`: `true` for exactly one caller among all servers sharing the store until the
    /// claim expires, `false` for every other. Atomic, and held by no connection: a server
    /// that dies holding it only delays the next claim by `ttl`.
    async fn claim_guardrail(
        &self,
        experiment: &str,
        subject: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// Drops every guardrail claim of `experiment` (each subject), so the next check may act at
    /// once: a person restarting an experiment the guardrail stopped re-arms it (a held claim
    /// would otherwise keep a harmful variant running until it expired). Idempotent.
    async fn release_guardrail(&self, experiment: &str) -> Result<(), StoreError>;

    /// Adds plugin calls and fallbacks per variant (`calls[i]` for variant `i`; entries past
    /// the experiment's variants are ignored) to the experiment's plugin-health counters, in
    /// one atomic step. Servers batch a second of calls into one such step.
    async fn add_plugin_health(
        &self,
        experiment: &Experiment,
        calls: &[PluginCalls],
    ) -> Result<(), StoreError>;

    /// The plugin-health counters per variant, in definition order (zeros before any call).
    async fn load_plugin_health(
        &self,
        experiment: &Experiment,
    ) -> Result<Vec<PluginCalls>, StoreError>;

    /// Keeps a dashboard session under `token_digest` (the SHA-256 of its token, hex) for
    /// `ttl`, replacing any session under that digest. Every server sharing the store then
    /// knows it.
    async fn create_session(
        &self,
        token_digest: &str,
        session: &Session,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError>;

    /// The session kept under `token_digest`, unless it expired or was revoked.
    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError>;

    /// Forgets the session under `token_digest` (sign-out); nothing happens when there is none.
    async fn revoke_session(&self, token_digest: &str) -> Result<(), StoreError>;

    /// Applies `changes` (uploads, removals, bindings) in one atomic step only if the
    /// definitions version is still `expected` — the compare-and-set every plugin change goes
    /// through, so a check made against the set read at `expected` (a bound plugin exists) holds
    /// — and bumps the version (the counter definitions use: every server's refresh sees it).
    /// A module no name refers to any more is dropped. Returns the new version, or `None`
    /// (nothing written) when the version moved. A module above [`crate::MAX_MODULE_BYTES`]
    /// is `StoreError::Config` and nothing is written.
    async fn save_plugins_if(
        &self,
        changes: &[PluginChange],
        expected: u64,
    ) -> Result<Option<u64>, StoreError>;

    /// Every plugin name with its module's SHA-256, every binding and the imported-file
    /// digests, read together with the version they belong to.
    async fn load_plugins(&self) -> Result<PluginSet, StoreError>;

    /// The module stored under `sha256` (immutable content), if any name still refers to it.
    async fn load_module(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Records (replaces) one server's heartbeat: the plugin versions it runs until
    /// `report.expires_at`.
    async fn report_server(&self, report: &ServerPlugins) -> Result<(), StoreError>;

    /// Deletes the processed markers (the ids that make a retry answer `Duplicate`) whose time
    /// was up before `now`, minus a margin for clocks that disagree; answers how many. Markers
    /// that expire by themselves (a TTL, or the embedded store's own pruning) need nothing, and
    /// answer 0. The server runs it periodically; safe to run from several servers at once.
    async fn expire_event_markers(
        &self,
        now: touchstone_model::Timestamp,
    ) -> Result<u64, StoreError>;

    /// The heartbeats not expired at `now`, ordered by server; expired ones are forgotten.
    async fn load_servers(
        &self,
        now: touchstone_model::Timestamp,
    ) -> Result<Vec<ServerPlugins>, StoreError>;
}
