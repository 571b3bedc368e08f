//! `MemoryStore`: the embedded store for development and single-process use. Same semantics
//! as Redis (the conformance suite runs against both), nothing durable.

use crate::counting::{self, UnitState};
use crate::memory_counters::MemoryCounters;
use crate::{
    AuditEntry, CountingPlan, Definitions, EventOutcome, EventsOutcome, Exposure, ExposureRecord,
    Session, Slice, Snapshot, Store, StoreError,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use touchstone_model::{
    Aggregates, Experiment, Holdout, OutcomeEvent, PLUGIN_VERSION_SEGMENT, PluginCalls,
    SEGMENT_NONE, SEGMENT_OTHER, Timestamp, exposure_hour,
};

/// Locks a mutex; a panic in another holder cannot leave these maps half-updated in a way
/// that matters more than losing the process, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
struct StoredUnit {
    state: UnitState,
    /// (attribute, slice) pairs fixed at first exposure.
    slices: Vec<(String, String)>,
}

/// How many maps an experiment phase's units are spread over (see [`Units`]).
const UNIT_SHARDS: usize = 256;

/// An experiment phase's units, spread over [`UNIT_SHARDS`] maps by a hash of the unit id. A
/// map grows by doubling, moving and rehashing every entry while the experiment's mutex is
/// held: with one map, each doubling past 10⁵…10⁶ units stalled every request of the experiment
/// (and the worker threads blocked on that mutex) for tens to hundreds of milliseconds,
/// growing with the units held. Spread over 256 maps, one growth moves 1/256 of the units.
/// Each unit is boxed: a map entry is then 32 bytes instead of ~180, so a growth moves and
/// zeroes a sixth of the memory (a profile of assign at 10⁶ units had 6 % of the server's CPU
/// in the kernel clearing the pages of growing maps).
#[derive(Debug)]
struct Units {
    shards: Vec<HashMap<String, Box<StoredUnit>>>,
}

impl Default for Units {
    fn default() -> Self {
        Units {
            shards: (0..UNIT_SHARDS).map(|_| HashMap::new()).collect(),
        }
    }
}

impl Units {
    fn shard(unit_id: &str) -> usize {
        touchstone_model::assignment::fnv1a32(unit_id) as usize % UNIT_SHARDS
    }

    fn get(&self, unit_id: &str) -> Option<&StoredUnit> {
        self.shards[Units::shard(unit_id)]
            .get(unit_id)
            .map(Box::as_ref)
    }

    fn get_mut(&mut self, unit_id: &str) -> Option<&mut StoredUnit> {
        self.shards[Units::shard(unit_id)]
            .get_mut(unit_id)
            .map(Box::as_mut)
    }

    fn insert(&mut self, unit_id: String, unit: StoredUnit) {
        let shard = Units::shard(&unit_id);
        self.shards[shard].insert(unit_id, Box::new(unit));
    }
}

/// One experiment phase's units and counters; one mutex each, so experiments do not contend.
#[derive(Debug, Default)]
struct ExperimentState {
    units: Units,
    counters: MemoryCounters,
    /// Attribute → the distinct values it kept (at most `max_segment_values`).
    kept_values: HashMap<String, BTreeSet<String>>,
    /// (attribute, slice) → that slice's counters.
    slices: HashMap<(String, String), MemoryCounters>,
    /// Day → aggregates at the end of it.
    snapshots: BTreeMap<String, Aggregates>,
    /// Plugin calls and fallbacks per variant index.
    plugin_health: Vec<PluginCalls>,
}

impl ExperimentState {
    /// The slice `value` counts in: a kept value, a new one while the attribute has room,
    /// else `(other)`. `(none)` and `(other)` take no room.
    fn slice_of(&mut self, attribute: &str, value: &str, max_values: u32) -> String {
        if value == SEGMENT_NONE || value == SEGMENT_OTHER {
            return value.to_owned();
        }
        let kept = self.kept_values.entry(attribute.to_owned()).or_default();
        if kept.contains(value) {
            return value.to_owned();
        }
        if kept.len() < max_values as usize {
            kept.insert(value.to_owned());
            return value.to_owned();
        }
        SEGMENT_OTHER.to_owned()
    }
}

/// How many maps the accepted event ids are spread over (see [`SeenIdShards`]).
const SEEN_SHARDS: usize = 64;

/// Event ids already accepted, spread over [`SEEN_SHARDS`] maps, each behind its own mutex. In
/// one map, every doubling and every pruning walk touched all ids while every event of every
/// request waited for the one lock: at 10⁶ ids a pause of tens of milliseconds, growing with
/// the ids held. Spread, a growth or a walk touches 1/64 of them and blocks only the events
/// whose ids hash to that shard.
#[derive(Debug)]
struct SeenIdShards(Vec<Mutex<SeenIds>>);

impl Default for SeenIdShards {
    fn default() -> Self {
        SeenIdShards((0..SEEN_SHARDS).map(|_| Mutex::default()).collect())
    }
}

impl SeenIdShards {
    /// Marks `id` seen; false when it already was (and has not expired).
    fn insert(&self, id: &str, ttl: Duration, now: Instant) -> bool {
        let shard = touchstone_model::assignment::fnv1a32(id) as usize % SEEN_SHARDS;
        lock(&self.0[shard]).insert(id, ttl, now)
    }
}

/// One shard of the accepted event ids, with when they may be forgotten.
#[derive(Debug, Default)]
struct SeenIds {
    expires: HashMap<String, Instant>,
    prune_at: usize,
}

impl SeenIds {
    /// Marks `id` seen; false when it already was (and has not expired).
    fn insert(&mut self, id: &str, ttl: Duration, now: Instant) -> bool {
        if self.expires.get(id).is_some_and(|expiry| *expiry > now) {
            return false;
        }
        self.expires.insert(id.to_owned(), now + ttl);
        // Amortized pruning: walk the map only when it has doubled since the last walk.
        if self.expires.len() > self.prune_at {
            self.expires.retain(|_, expiry| *expiry > now);
            self.prune_at = (self.expires.len() * 2).max(1024);
        }
        true
    }
}

/// An experiment's key and one of its phases.
type PhaseKey = (String, u32);

/// The embedded, thread-safe store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    definitions: Mutex<(u64, BTreeMap<String, Experiment>)>,
    /// Locked only while `definitions` is held, so a version always matches what it counts.
    holdouts: Mutex<BTreeMap<String, Holdout>>,
    /// (experiment key, phase) → that phase's units and counters: a new phase starts empty.
    experiments: Mutex<HashMap<PhaseKey, Arc<Mutex<ExperimentState>>>>,
    seen: SeenIdShards,
    /// Experiment key (`None`: the global log) → entries, oldest first.
    audit: Mutex<HashMap<Option<String>, Vec<AuditEntry>>>,
    /// (experiment, subject) → when its guardrail claim expires.
    guard_claims: Mutex<HashMap<(String, String), std::time::Instant>>,
    /// Session token digest → the session and when it expires.
    sessions: Mutex<HashMap<String, (Session, Instant)>>,
    /// Modules, names, bindings and heartbeats. Changed only while `definitions` is held.
    plugins: Mutex<crate::memory_plugins::MemoryPlugins>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The state of `experiment` in its phase (the current one, or an `at_phase` view's).
    fn experiment(&self, experiment: &Experiment) -> Arc<Mutex<ExperimentState>> {
        lock(&self.experiments)
            .entry((experiment.key().to_owned(), experiment.phase()))
            .or_default()
            .clone()
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn save_definition(&self, experiment: &Experiment) -> Result<u64, StoreError> {
        let mut definitions = lock(&self.definitions);
        definitions
            .1
            .insert(experiment.key().to_owned(), experiment.clone());
        definitions.0 += 1;
        Ok(definitions.0)
    }

    async fn save_definition_if(
        &self,
        experiment: &Experiment,
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut definitions = lock(&self.definitions);
        if definitions.0 != expected {
            return Ok(None);
        }
        definitions
            .1
            .insert(experiment.key().to_owned(), experiment.clone());
        definitions.0 += 1;
        Ok(Some(definitions.0))
    }

    async fn save_holdout(&self, holdout: &Holdout) -> Result<u64, StoreError> {
        let mut definitions = lock(&self.definitions);
        lock(&self.holdouts).insert(holdout.key().to_owned(), holdout.clone());
        definitions.0 += 1;
        Ok(definitions.0)
    }

    async fn save_holdout_if(
        &self,
        holdout: &Holdout,
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut definitions = lock(&self.definitions);
        if definitions.0 != expected {
            return Ok(None);
        }
        lock(&self.holdouts).insert(holdout.key().to_owned(), holdout.clone());
        definitions.0 += 1;
        Ok(Some(definitions.0))
    }

    async fn load_definitions(&self) -> Result<Definitions, StoreError> {
        let definitions = lock(&self.definitions);
        let holdouts = lock(&self.holdouts);
        Ok(Definitions {
            version: definitions.0,
            experiments: definitions.1.values().cloned().collect(),
            holdouts: holdouts.values().cloned().collect(),
        })
    }

    async fn definitions_version(&self) -> Result<u64, StoreError> {
        Ok(lock(&self.definitions).0)
    }

    async fn record_exposure(
        &self,
        experiment: &Experiment,
        exposure: &Exposure,
    ) -> Result<ExposureRecord, StoreError> {
        let state = self.experiment(experiment);
        let mut state = lock(&state);
        if let Some(existing) = state.units.get(&exposure.unit_id) {
            return Ok(ExposureRecord {
                variant: existing.state.variant,
                exposed_at: Timestamp::from_millis(existing.state.exposed_at),
                new: false,
            });
        }
        let max_values = experiment.spec().max_segment_values;
        let sent = exposure
            .plugin_version
            .iter()
            .map(|version| (PLUGIN_VERSION_SEGMENT, version.as_str()))
            .chain(
                exposure
                    .segments
                    .iter()
                    .map(|(attribute, value)| (attribute.as_str(), value.as_str())),
            );
        let covariates = counting::exposure_covariates(experiment, exposure);
        let mut slices = Vec::new();
        for (attribute, value) in sent {
            let slice = state.slice_of(attribute, value, max_values);
            let counters = state
                .slices
                .entry((attribute.to_owned(), slice.clone()))
                .or_default();
            *counters
                .units_per_variant
                .entry(exposure.variant)
                .or_default() += 1;
            counters.expose_covariates(exposure.variant, &covariates);
            slices.push((attribute.to_owned(), slice));
        }
        state.units.insert(
            exposure.unit_id.clone(),
            StoredUnit {
                state: UnitState {
                    variant: exposure.variant,
                    exposed_at: exposure.at.as_millis(),
                    covariates: covariates
                        .iter()
                        .filter_map(|(attribute, x)| {
                            x.filter(|x| *x != 0.0)
                                .map(|x| ((*attribute).to_owned(), x))
                        })
                        .collect(),
                    ..UnitState::default()
                },
                slices,
            },
        );
        *state
            .counters
            .units_per_variant
            .entry(exposure.variant)
            .or_default() += 1;
        state
            .counters
            .expose_covariates(exposure.variant, &covariates);
        *state
            .counters
            .exposures_by_hour
            .entry(exposure.variant)
            .or_default()
            .entry(exposure_hour(exposure.at.as_millis()))
            .or_default() += 1;
        Ok(ExposureRecord {
            variant: exposure.variant,
            exposed_at: exposure.at,
            new: true,
        })
    }

    async fn find_exposures(
        &self,
        unit_id: &str,
        experiments: &[Arc<Experiment>],
    ) -> Result<Vec<Option<ExposureRecord>>, StoreError> {
        Ok(experiments
            .iter()
            .map(|experiment| {
                let state = self.experiment(experiment);
                let state = lock(&state);
                state.units.get(unit_id).map(|unit| ExposureRecord {
                    variant: unit.state.variant,
                    exposed_at: Timestamp::from_millis(unit.state.exposed_at),
                    new: false,
                })
            })
            .collect())
    }

    async fn record_planned_events(
        &self,
        plans: &[Arc<CountingPlan>],
        events: &[OutcomeEvent],
    ) -> Result<EventsOutcome, StoreError> {
        let ttl_seconds = plans
            .iter()
            .map(|plan| plan.plan.seen_ttl_seconds)
            .max()
            .unwrap_or(counting::DEDUP_GRACE_SECONDS);
        let ttl = Duration::from_secs(ttl_seconds);
        let mut outcomes = Vec::with_capacity(events.len());
        let mut deltas = Vec::new();
        for event in events {
            // Nothing below can fail, so marking the id before counting cannot lose an event.
            if !self.seen.insert(&event.id, ttl, Instant::now()) {
                outcomes.push(EventOutcome::Duplicate);
                continue;
            }
            let mut counted = 0;
            for compiled in plans {
                let (experiment, plan) = (compiled.experiment(), &compiled.plan);
                if !experiment.tracks_event(&event.name) {
                    continue;
                }
                let state = self.experiment(experiment);
                let mut state = lock(&state);
                let Some(unit) = state.units.get_mut(&event.unit_id) else {
                    continue;
                };
                deltas.clear();
                let variant = unit.state.variant;
                if !counting::count_event(
                    plan,
                    &mut unit.state,
                    event.timestamp,
                    &event.name,
                    event.value,
                    &mut deltas,
                ) {
                    continue;
                }
                counted += 1;
                let slices = unit.slices.clone();
                for delta in deltas.drain(..) {
                    state.counters.apply(variant, &delta);
                    for slice in &slices {
                        if let Some(counters) = state.slices.get_mut(slice) {
                            counters.apply(variant, &delta);
                        }
                    }
                }
            }
            outcomes.push(EventOutcome::Accepted { counted });
        }
        Ok(EventsOutcome { outcomes })
    }

    async fn load_aggregates(&self, experiment: &Experiment) -> Result<Aggregates, StoreError> {
        let state = self.experiment(experiment);
        let state = lock(&state);
        Ok(counting::build_aggregates(experiment, &state.counters))
    }

    async fn load_slices(
        &self,
        experiment: &Experiment,
        attribute: &str,
    ) -> Result<Vec<Slice>, StoreError> {
        let state = self.experiment(experiment);
        let state = lock(&state);
        let mut slices: Vec<Slice> = state
            .slices
            .iter()
            .filter(|((name, _), _)| name == attribute)
            .map(|((_, value), counters)| Slice {
                value: value.clone(),
                aggregates: counting::build_aggregates(experiment, counters),
            })
            .collect();
        slices.sort_by(|a, b| a.value.cmp(&b.value));
        Ok(slices)
    }

    async fn save_snapshot(
        &self,
        experiment: &Experiment,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        let state = self.experiment(experiment);
        lock(&state)
            .snapshots
            .insert(snapshot.day.clone(), snapshot.aggregates.clone());
        Ok(())
    }

    async fn load_snapshots(&self, experiment: &Experiment) -> Result<Vec<Snapshot>, StoreError> {
        let state = self.experiment(experiment);
        let state = lock(&state);
        Ok(state
            .snapshots
            .iter()
            .map(|(day, aggregates)| Snapshot {
                day: day.clone(),
                aggregates: aggregates.clone(),
            })
            .collect())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        lock(&self.audit)
            .entry(entry.experiment.clone())
            .or_default()
            .push(entry.clone());
        Ok(())
    }

    async fn claim_guardrail(
        &self,
        experiment: &str,
        subject: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = std::time::Instant::now();
        let mut claims = lock(&self.guard_claims);
        claims.retain(|_, expires| *expires > now);
        let key = (experiment.to_owned(), subject.to_owned());
        if claims.contains_key(&key) {
            return Ok(false);
        }
        claims.insert(key, now + ttl);
        Ok(true)
    }

    async fn release_guardrail(&self, experiment: &str) -> Result<(), StoreError> {
        lock(&self.guard_claims).retain(|(claimed, _), _| claimed != experiment);
        Ok(())
    }

    async fn add_plugin_health(
        &self,
        experiment: &Experiment,
        calls: &[PluginCalls],
    ) -> Result<(), StoreError> {
        let state = self.experiment(experiment);
        let mut state = lock(&state);
        let variants = experiment.variants().len();
        if state.plugin_health.len() < variants {
            state.plugin_health.resize(variants, PluginCalls::default());
        }
        for (kept, added) in state.plugin_health.iter_mut().zip(calls) {
            kept.add(*added);
        }
        Ok(())
    }

    async fn load_plugin_health(
        &self,
        experiment: &Experiment,
    ) -> Result<Vec<PluginCalls>, StoreError> {
        let state = self.experiment(experiment);
        let state = lock(&state);
        let mut calls = state.plugin_health.clone();
        calls.resize(experiment.variants().len(), PluginCalls::default());
        Ok(calls)
    }

    async fn load_audit(
        &self,
        experiment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let audit = lock(&self.audit);
        let entries = audit
            .get(&experiment.map(str::to_owned))
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(entries
            .iter()
            .rev()
            .take(limit.min(crate::MAX_AUDIT_READ))
            .cloned()
            .collect())
    }

    async fn create_session(
        &self,
        token_digest: &str,
        session: &Session,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        // Expired sessions go when a new one comes: sign-ins are rare, the walk is short.
        sessions.retain(|_, (_, expires)| *expires > now);
        sessions.insert(token_digest.to_owned(), (session.clone(), now + ttl));
        Ok(())
    }

    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        let now = Instant::now();
        Ok(lock(&self.sessions)
            .get(token_digest)
            .filter(|(_, expires)| *expires > now)
            .map(|(session, _)| session.clone()))
    }

    async fn revoke_session(&self, token_digest: &str) -> Result<(), StoreError> {
        lock(&self.sessions).remove(token_digest);
        Ok(())
    }

    async fn save_plugins_if(
        &self,
        changes: &[crate::PluginChange],
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut definitions = lock(&self.definitions);
        if definitions.0 != expected {
            return Ok(None);
        }
        lock(&self.plugins).apply(changes)?;
        definitions.0 += 1;
        Ok(Some(definitions.0))
    }

    async fn load_plugins(&self) -> Result<crate::PluginSet, StoreError> {
        let definitions = lock(&self.definitions);
        Ok(lock(&self.plugins).set(definitions.0))
    }

    async fn load_module(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.plugins).module(sha256))
    }

    async fn report_server(&self, report: &crate::ServerPlugins) -> Result<(), StoreError> {
        lock(&self.plugins).report(report);
        Ok(())
    }

    async fn load_servers(&self, now: Timestamp) -> Result<Vec<crate::ServerPlugins>, StoreError> {
        Ok(lock(&self.plugins).servers(now))
    }

    /// The accepted ids forget themselves (`SeenIds::insert` prunes expired ones as the map
    /// grows): nothing to sweep.
    async fn expire_event_markers(&self, _now: Timestamp) -> Result<u64, StoreError> {
        Ok(0)
    }
}
