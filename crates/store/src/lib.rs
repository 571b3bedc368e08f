//! Touchstone's storage: the [`Store`] trait in domain verbs, the embedded [`MemoryStore`] and
//! the production [`RedisStore`] (single Redis or Redis Cluster). Every implementation passes
//! the same conformance suite (`tests/it/conformance.rs`), so they agree on every count.

pub mod audit;
mod counting;
pub mod error;
pub mod exposure;
mod memory;
mod memory_counters;
mod memory_plugins;
pub mod plugins;
mod redis;
pub mod session;
pub mod store;

pub use self::redis::RedisStore;
pub use audit::{AuditEntry, MAX_AUDIT_READ};
pub use counting::CountingPlan;
pub use error::StoreError;
pub use exposure::{Exposure, ExposureRecord};
pub use memory::MemoryStore;
pub use plugins::{
    MAX_MODULE_BYTES, PluginChange, PluginSet, ServerPlugins, StoredBinding, sha256_hex,
};
pub use session::Session;
pub use store::{Definitions, EventOutcome, EventsOutcome, Slice, Snapshot, Store};

use std::sync::Arc;

/// Opens the store a URL names:
/// - `memory://` — a fresh [`MemoryStore`] (nothing durable);
/// - `redis://host:port/db` — a [`RedisStore`] on one Redis;
/// - `redis-cluster://host1:port1,host2:port2` — a [`RedisStore`] on Redis Cluster.
///
/// A Redis that is down is not an error here (calls return `Unavailable` until it is back;
/// check with [`Store::ping`]); an unknown scheme or malformed URL is `StoreError::Config`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let url = url.trim();
    if url == "memory://" || url == "memory" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if url.starts_with("redis://")
        || url.starts_with("rediss://")
        || url.starts_with("redis-cluster://")
    {
        return Ok(Arc::new(RedisStore::connect(url).await?));
    }
    Err(StoreError::Config(format!(
        "unknown store URL `{url}`; expected memory://, redis://host:port/db or \
         redis-cluster://host1:port1,host2:port2"
    )))
}
