//! Every Redis key Touchstone writes, formatted in one place (KEYS.md documents the layout).
//!
//! An experiment's keys all start with the hash tag `{exp:KEY}`, so they share one cluster
//! slot and one Lua script may touch them atomically. Counting keys sit under the phase of the
//! experiment they are given (`{exp:KEY}:pN:…`), so a new phase starts from fresh keys and an
//! earlier one stays readable through `Experiment::at_phase`.

use std::borrow::Cow;
use std::fmt;
use touchstone_model::Experiment;

/// A key of the form prefix + kind + id, formatted where it is written: the events script
/// takes a unit key, a marker and sometimes a seen-id per event, written straight into the
/// command without a `String` each (`script_call::Args::push_display`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    prefix: &'a str,
    kind: &'static str,
    id: &'a str,
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        f.write_str(self.kind)?;
        f.write_str(self.id)
    }
}

/// An attribute name as it appears inside a slice key: `%` becomes `%25` and `:` becomes
/// `%3A`, so the name holds no `:` and a slice key `…:seg:NAME:VALUE` splits one way only
/// (segments `a` = `b:c` and `a:b` = `c` no longer meet in `seg:a:b:c`; nor does a segment
/// `exp` = `e2:a` meet the interaction slice `exp:e2` = `a`). Names without either character —
/// nearly all — are unchanged, so their keys are those of the earlier layout.
pub(crate) fn attribute_in_key(attribute: &str) -> Cow<'_, str> {
    if !attribute.contains([':', '%']) {
        return Cow::Borrowed(attribute);
    }
    Cow::Owned(attribute.replace('%', "%25").replace(':', "%3A"))
}

/// Keys of one experiment in one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExperimentKeys {
    prefix: String,
}

impl ExperimentKeys {
    pub fn new(experiment: &str, phase: u32) -> ExperimentKeys {
        ExperimentKeys {
            prefix: format!("{{exp:{experiment}}}:p{phase}"),
        }
    }

    /// The keys of `experiment` in its phase: the current one, or the earlier one an
    /// `at_phase` view is in.
    pub fn of(experiment: &Experiment) -> ExperimentKeys {
        ExperimentKeys::new(experiment.key(), experiment.phase())
    }

    /// Hash: one unit's exposure and running state.
    pub fn unit(&self, unit_id: &str) -> String {
        self.unit_key(unit_id).to_string()
    }

    /// `unit`, unformatted.
    pub fn unit_key<'a>(&'a self, unit_id: &'a str) -> Key<'a> {
        Key {
            prefix: &self.prefix,
            kind: ":u:",
            id: unit_id,
        }
    }

    /// Hash: per-variant counters of the phase.
    pub fn counters(&self) -> String {
        format!("{}:agg", self.prefix)
    }

    /// The phase's prefix, `{exp:KEY}:pN:`, for keys the scripts build themselves.
    pub fn prefix(&self) -> String {
        format!("{}:", self.prefix)
    }

    /// Hash: counters of one slice (same fields as [`Self::counters`]). The attribute is
    /// escaped ([`attribute_in_key`]), so the first `:` after it starts the value and no two
    /// (attribute, value) pairs share a key.
    pub fn slice(&self, attribute: &str, value: &str) -> String {
        format!(
            "{}:seg:{}:{value}",
            self.prefix,
            attribute_in_key(attribute)
        )
    }

    /// Set: the distinct values an attribute has kept (at most `max_segment_values`).
    pub fn segment_values(&self, attribute: &str) -> String {
        format!("{}:segvals:{attribute}", self.prefix)
    }

    /// Hash: `<variant>:<hour since the epoch>` → new exposures in that hour.
    pub fn exposure_hours(&self) -> String {
        format!("{}:exph", self.prefix)
    }

    /// Hash: day (`YYYY-MM-DD`) → aggregates JSON at the end of that day.
    pub fn snapshots(&self) -> String {
        format!("{}:snap", self.prefix)
    }

    /// Hash: plugin calls per variant (`<variant>:c`) and those that fell back
    /// (`<variant>:f`). Under the phase like the counters: plugin health is compared between
    /// variants of one assignment, and a new phase is a new assignment.
    pub fn plugin_health(&self) -> String {
        format!("{}:plugin", self.prefix)
    }

    /// String with a TTL: this experiment counted this event id (value 1).
    pub fn seen_event_key<'a>(&'a self, event_id: &'a str) -> Key<'a> {
        Key {
            prefix: &self.prefix,
            kind: ":e:",
            id: event_id,
        }
    }
}

/// List: an experiment's audit log, entry JSON, newest at the head. Outside any phase: the
/// history spans them all.
pub(crate) fn experiment_audit(experiment: &str) -> String {
    format!("{{exp:{experiment}}}:audit")
}

/// String with a TTL: the guardrail claim of one subject (`harm`, `srm`) of an experiment;
/// whoever sets it acts (decision 010).
/// Every guardrail claim subject the checker uses (`release_guardrail` drops them all).
pub(crate) const GUARDRAIL_SUBJECTS: [&str; 2] = ["harm", "srm"];

pub(crate) fn guardrail_claim(experiment: &str, subject: &str) -> String {
    format!("{{exp:{experiment}}}:guard:{subject}")
}

/// List: the audit log of actions on no experiment (plugins, bindings), newest at the head.
pub(crate) const GLOBAL_AUDIT: &str = "{touchstone}:audit";

/// Hash: experiment key → spec JSON. Tagged so it shares a slot with its version counter.
pub(crate) const DEFINITIONS: &str = "{touchstone}:defs";

/// Hash: holdout key → holdout spec JSON, beside the experiment definitions (same slot, same
/// version counter).
pub(crate) const HOLDOUTS: &str = "{touchstone}:holdouts";

/// String counter: grows by one per saved definition (experiment or holdout).
pub(crate) const DEFINITIONS_VERSION: &str = "{touchstone}:defs:version";

/// String with a TTL (the session's expiry): the fingerprint of the admin key a dashboard
/// session was issued for, under the SHA-256 of its token. Tagged like the definitions: sessions
/// are few, and every server reads them.
pub(crate) fn session(token_digest: &str) -> String {
    format!("{{touchstone}}:session:{token_digest}")
}
/// Hash: plugin name → SHA-256 of its module. Beside the definitions (same slot, same version
/// counter), so one refresh reads plugins, bindings and definitions at one version.
pub(crate) const PLUGINS: &str = "{touchstone}:plugins";

/// Hash: touchpoint → binding JSON (`plugin`, `config`).
pub(crate) const BINDINGS: &str = "{touchstone}:bindings";

/// Hash: `plugin:NAME` / `binding:TOUCHPOINT` → digest of the file content last imported.
pub(crate) const IMPORTED: &str = "{touchstone}:plugins:imported";

/// Prefix of a module's key, `{touchstone}:module:SHA256` (string: the module bytes). Built
/// inside `save_plugins.lua`, in the definitions' slot.
pub(crate) const MODULE_PREFIX: &str = "{touchstone}:module:";

/// Hash: server (`host:port`) → heartbeat JSON (the plugin versions it runs, when it expires).
pub(crate) const SERVERS: &str = "{touchstone}:servers";

/// Sorted set: the hours that have a queue of processed markers (`marker_queue`), scored by
/// the hour (`marker_expiry.rs`). Single Redis only.
pub(crate) const MARKER_HOURS: &str = "touchstone:evq";

/// List: the processed markers whose time is up in the hour before `hour` (hours since the
/// epoch), deleted by the sweeper once it has passed (`marker_expiry.rs`).
pub(crate) fn marker_queue(hour: i64) -> String {
    format!("{MARKER_HOURS}:{hour}")
}

/// String: the event id was fully processed (no TTL on a single Redis, where `marker_queue`
/// lists it; a TTL on a Cluster). Untagged on purpose, so the ids of busy shops spread over
/// every node of a cluster.
pub(crate) fn event_processed(event_id: &str) -> String {
    event_processed_key(event_id).to_string()
}

/// `event_processed`, unformatted.
pub(crate) fn event_processed_key(event_id: &str) -> Key<'_> {
    Key {
        prefix: "touchstone:ev:",
        kind: "",
        id: event_id,
    }
}

// Field names are written by the Lua scripts and read back in `aggregates.rs`:
// unit hash: `v` variant index, `t` exposure ms, `g:<attribute>` the unit's slice of each
// segment attribute (`g:plugin_version` when a plugin decided), `s:<stage>` reached flag,
// `n:<metric>` / `x:<metric>` running count / value;
// counters and slice hashes: `<variant>:u` units, `<variant>:s:<stage>:<n|s|q>`, `<variant>:m:<metric>:<n|s|q>`.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_an_experiment_carries_its_hash_tag() {
        let keys = ExperimentKeys::new("free-shipping", 1);
        for key in [
            keys.unit("u{1}"),
            keys.counters(),
            keys.seen_event_key("e:1").to_string(),
            keys.slice("device", "mobile"),
            keys.segment_values("device"),
            keys.snapshots(),
            keys.exposure_hours(),
            keys.plugin_health(),
            keys.prefix(),
        ] {
            assert!(key.starts_with("{exp:free-shipping}:p1:"), "{key}");
        }
    }

    #[test]
    fn no_two_attribute_value_pairs_share_a_slice_key() {
        let keys = ExperimentKeys::new("e1", 1);
        let pairs = [
            ("a", "b:c"),
            ("a:b", "c"),
            ("exp", "e2:a"),
            ("exp:e2", "a"),
            ("a%3Ab", "c"),
            ("a%b", "c"),
            ("a%25b", "c"),
            ("a", "b%3Ac"),
        ];
        let distinct: std::collections::HashSet<String> =
            pairs.iter().map(|(a, v)| keys.slice(a, v)).collect();
        assert_eq!(distinct.len(), pairs.len(), "{distinct:?}");
        assert_eq!(
            keys.slice("device", "mobile"),
            "{exp:e1}:p1:seg:device:mobile"
        );
        assert_eq!(keys.slice("exp:e2", "a"), "{exp:e1}:p1:seg:exp%3Ae2:a");
    }

    #[test]
    fn each_phase_has_its_own_keys_in_the_experiments_slot() {
        let first = ExperimentKeys::new("free-shipping", 1);
        let second = ExperimentKeys::new("free-shipping", 2);
        assert_eq!(second.counters(), "{exp:free-shipping}:p2:agg");
        assert_ne!(first.unit("u1"), second.unit("u1"));
        assert_ne!(first.snapshots(), second.snapshots());
    }

    #[test]
    fn a_holdouts_keys_carry_its_synthetic_experiments_tag() {
        let key = touchstone_model::holdout::experiment_key("program-q4");
        assert_eq!(
            ExperimentKeys::new(&key, 1).counters(),
            "{exp:holdout:program-q4}:p1:agg"
        );
    }

    #[test]
    fn an_experiments_audit_log_shares_its_slot_across_phases() {
        assert_eq!(
            experiment_audit("free-shipping"),
            "{exp:free-shipping}:audit"
        );
        assert!(GLOBAL_AUDIT.starts_with("{touchstone}"));
    }

    #[test]
    fn the_definitions_and_their_version_share_a_slot() {
        assert!(DEFINITIONS.starts_with("{touchstone}"));
        assert!(DEFINITIONS_VERSION.starts_with("{touchstone}"));
        assert!(HOLDOUTS.starts_with("{touchstone}"));
        for key in [PLUGINS, BINDINGS, IMPORTED, MODULE_PREFIX, SERVERS] {
            assert!(key.starts_with("{touchstone}:"), "{key}");
        }
    }
}
