//! The audit log in Redis: one list per experiment (`{exp:KEY}:audit`, in the experiment's
//! slot) and one global list (`{touchstone}:audit`), entry JSON pushed at the head, so a read
//! of the newest N is one LRANGE. Admin actions are rare: the lists are not trimmed.
//! Beside them, the guardrail claims (`SET {exp:KEY}:guard:SUBJECT 1 NX PX ttl`): which server
//! acts on a harmed guardrail and writes its audit entry.

use super::RedisStore;
use super::connection::store_error;
use super::keys;
use crate::{AuditEntry, MAX_AUDIT_READ, StoreError};
use redis::AsyncCommands;

fn list_key(experiment: Option<&str>) -> String {
    match experiment {
        Some(key) => keys::experiment_audit(key),
        None => keys::GLOBAL_AUDIT.to_owned(),
    }
}

pub(super) async fn append(store: &RedisStore, entry: &AuditEntry) -> Result<(), StoreError> {
    let json = serde_json::to_string(entry).map_err(|error| StoreError::Corrupt {
        what: format!("audit entry `{}` could not be encoded", entry.action),
        source: Some(Box::new(error)),
    })?;
    let mut handle = store.handle().await?;
    let _: u64 = handle
        .lpush(list_key(entry.experiment.as_deref()), json)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(super) async fn load(
    store: &RedisStore,
    experiment: Option<&str>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = limit.min(MAX_AUDIT_READ);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut handle = store.handle().await?;
    let key = list_key(experiment);
    let raw: Vec<String> = handle
        .lrange(&key, 0, limit as isize - 1)
        .await
        .map_err(store_error)?;
    raw.iter()
        .map(|json| {
            serde_json::from_str(json).map_err(|error| StoreError::Corrupt {
                what: format!("an entry of the audit log `{key}`"),
                source: Some(Box::new(error)),
            })
        })
        .collect()
}

/// `SET key 1 NX PX ttl`: one atomic command, so exactly one of the servers racing wins.
pub(super) async fn claim_guardrail(
    store: &RedisStore,
    experiment: &str,
    subject: &str,
    ttl: std::time::Duration,
) -> Result<bool, StoreError> {
    let mut handle = store.handle().await?;
    let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    let set: Option<String> = redis::cmd("SET")
        .arg(keys::guardrail_claim(experiment, subject))
        .arg(1)
        .arg("NX")
        .arg("PX")
        .arg(millis)
        .query_async(&mut handle)
        .await
        .map_err(store_error)?;
    Ok(set.is_some())
}

/// `DEL` of every subject's claim: the subjects are few and fixed, and all share the
/// experiment's slot, so one command drops them together.
pub(super) async fn release_guardrail(
    store: &RedisStore,
    experiment: &str,
) -> Result<(), StoreError> {
    let mut handle = store.handle().await?;
    let _: u64 = redis::cmd("DEL")
        .arg(
            keys::GUARDRAIL_SUBJECTS
                .iter()
                .map(|subject| keys::guardrail_claim(experiment, subject))
                .collect::<Vec<_>>(),
        )
        .query_async(&mut handle)
        .await
        .map_err(store_error)?;
    Ok(())
}
