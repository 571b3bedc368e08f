//! Dashboard sessions in Redis: `SET {touchstone}:session:<sha256(token)> <key fingerprint> PX
//! ttl`, so a session expires by itself, is revoked by one DEL and is known to every server.

use super::RedisStore;
use super::connection::store_error;
use super::keys;
use crate::{Session, StoreError};
use redis::AsyncCommands;

pub(super) async fn create(
    store: &RedisStore,
    token_digest: &str,
    session: &Session,
    ttl: std::time::Duration,
) -> Result<(), StoreError> {
    let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut handle = store.handle().await?;
    let _: () = redis::cmd("SET")
        .arg(keys::session(token_digest))
        .arg(&session.key_fingerprint)
        .arg("PX")
        .arg(millis)
        .query_async(&mut handle)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(super) async fn load(
    store: &RedisStore,
    token_digest: &str,
) -> Result<Option<Session>, StoreError> {
    let mut handle = store.handle().await?;
    let fingerprint: Option<String> = handle
        .get(keys::session(token_digest))
        .await
        .map_err(store_error)?;
    Ok(fingerprint.map(|key_fingerprint| Session { key_fingerprint }))
}

pub(super) async fn revoke(store: &RedisStore, token_digest: &str) -> Result<(), StoreError> {
    let mut handle = store.handle().await?;
    let _: u64 = handle
        .del(keys::session(token_digest))
        .await
        .map_err(store_error)?;
    Ok(())
}
