//! Plugins in Redis: one script applies a batch of changes with a compare-and-set on the
//! definitions version (`save_plugins.lua`), one reads names, bindings and imported digests
//! with that version (`load_plugins.lua`); modules are plain strings addressed by SHA-256.
//! Heartbeats sit in one hash whose expired entries the reader drops (field TTLs need Redis
//! 7.4; servers are few).

use super::RedisStore;
use super::connection::store_error;
use super::keys;
use crate::plugins::{imported_binding_key, imported_plugin_key};
use crate::{
    MAX_MODULE_BYTES, PluginChange, PluginSet, ServerPlugins, StoreError, StoredBinding, sha256_hex,
};
use redis::{AsyncCommands, Script};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use touchstone_model::Timestamp;

static SAVE_PLUGINS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/save_plugins.lua")));
static LOAD_PLUGINS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/load_plugins.lua")));

fn corrupt(what: String, error: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        what,
        source: Some(Box::new(error)),
    }
}

pub(super) async fn save_if(
    store: &RedisStore,
    changes: &[PluginChange],
    expected: u64,
) -> Result<Option<u64>, StoreError> {
    let mut invocation = SAVE_PLUGINS.prepare_invoke();
    invocation
        .key(keys::PLUGINS)
        .key(keys::BINDINGS)
        .key(keys::DEFINITIONS_VERSION)
        .key(keys::IMPORTED)
        .arg(expected)
        .arg(keys::MODULE_PREFIX);
    for change in changes {
        match change {
            PluginChange::Upload {
                name,
                module,
                from_file,
            } => {
                if module.len() > MAX_MODULE_BYTES {
                    return Err(crate::memory_plugins::too_large(name));
                }
                invocation
                    .arg("upload")
                    .arg(name)
                    .arg(sha256_hex(module))
                    .arg(module.as_slice());
                if let Some(digest) = from_file {
                    invocation
                        .arg("imported")
                        .arg(imported_plugin_key(name))
                        .arg(digest)
                        .arg("");
                }
            }
            PluginChange::Remove { name } => {
                invocation.arg("remove").arg(name).arg("").arg("");
            }
            PluginChange::Bind {
                touchpoint,
                binding,
                from_file,
            } => {
                let json = serde_json::to_string(binding).map_err(|error| {
                    corrupt(
                        format!("binding of `{touchpoint}` could not be encoded"),
                        error,
                    )
                })?;
                invocation.arg("bind").arg(touchpoint).arg(json).arg("");
                if let Some(digest) = from_file {
                    invocation
                        .arg("imported")
                        .arg(imported_binding_key(touchpoint))
                        .arg(digest)
                        .arg("");
                }
            }
            PluginChange::Unbind { touchpoint } => {
                invocation.arg("unbind").arg(touchpoint).arg("").arg("");
            }
        }
    }
    let mut handle = store.handle().await?;
    let version: i64 = invocation
        .invoke_async(&mut handle)
        .await
        .map_err(store_error)?;
    Ok(u64::try_from(version).ok())
}

fn pairs(flat: Vec<String>) -> impl Iterator<Item = (String, String)> {
    let mut flat = flat.into_iter();
    std::iter::from_fn(move || Some((flat.next()?, flat.next()?)))
}

pub(super) async fn load(store: &RedisStore) -> Result<PluginSet, StoreError> {
    let mut handle = store.handle().await?;
    let (version, plugins, bindings, imported): (u64, Vec<String>, Vec<String>, Vec<String>) =
        LOAD_PLUGINS
            .key(keys::PLUGINS)
            .key(keys::BINDINGS)
            .key(keys::DEFINITIONS_VERSION)
            .key(keys::IMPORTED)
            .invoke_async(&mut handle)
            .await
            .map_err(store_error)?;
    let bindings = pairs(bindings)
        .map(|(touchpoint, json)| {
            let binding: StoredBinding = serde_json::from_str(&json)
                .map_err(|error| corrupt(format!("stored binding of `{touchpoint}`"), error))?;
            Ok((touchpoint, binding))
        })
        .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
    Ok(PluginSet {
        version,
        plugins: pairs(plugins).collect(),
        bindings,
        imported: pairs(imported).collect(),
    })
}

pub(super) async fn module(
    store: &RedisStore,
    sha256: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut handle = store.handle().await?;
    handle
        .get(format!("{}{sha256}", keys::MODULE_PREFIX))
        .await
        .map_err(store_error)
}

pub(super) async fn report(store: &RedisStore, report: &ServerPlugins) -> Result<(), StoreError> {
    let json = serde_json::to_string(report).map_err(|error| {
        corrupt(
            format!("heartbeat of `{}` could not be encoded", report.server),
            error,
        )
    })?;
    let mut handle = store.handle().await?;
    let _: i64 = handle
        .hset(keys::SERVERS, &report.server, json)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(super) async fn servers(
    store: &RedisStore,
    now: Timestamp,
) -> Result<Vec<ServerPlugins>, StoreError> {
    let mut handle = store.handle().await?;
    let entries: Vec<(String, String)> =
        handle.hgetall(keys::SERVERS).await.map_err(store_error)?;
    let mut live = Vec::new();
    let mut expired = Vec::new();
    for (server, json) in entries {
        let report: ServerPlugins = serde_json::from_str(&json)
            .map_err(|error| corrupt(format!("heartbeat of `{server}`"), error))?;
        if report.expires_at > now {
            live.push(report);
        } else {
            expired.push(server);
        }
    }
    if !expired.is_empty() {
        // Forgetting is best effort: a server that reports again comes back anyway.
        let _: Result<i64, _> = handle.hdel(keys::SERVERS, &expired).await;
    }
    live.sort_by(|a, b| a.server.cmp(&b.server));
    Ok(live)
}
