//! The plugin-health counters of an experiment phase: one small hash, `<variant>:c` (calls)
//! and `<variant>:f` (fallbacks), added to by each server about once a second.

use super::RedisStore;
use super::connection::store_error;
use super::keys::ExperimentKeys;
use crate::StoreError;
use redis::Script;
use std::sync::LazyLock;
use touchstone_model::{Experiment, PluginCalls};

static ADD_PLUGIN_HEALTH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/add_plugin_health.lua")));

/// One script call, so a server's whole second of counts lands at once or not at all.
pub(super) async fn add(
    store: &RedisStore,
    experiment: &Experiment,
    calls: &[PluginCalls],
) -> Result<(), StoreError> {
    let mut invocation = ADD_PLUGIN_HEALTH.prepare_invoke();
    invocation.key(ExperimentKeys::of(experiment).plugin_health());
    let mut fields = 0;
    let variants = experiment.variants().len();
    for (variant, counts) in calls.iter().enumerate().take(variants) {
        for (suffix, count) in [("c", counts.calls), ("f", counts.fallbacks)] {
            if count > 0 {
                invocation.arg(format!("{variant}:{suffix}")).arg(count);
                fields += 1;
            }
        }
    }
    if fields == 0 {
        return Ok(());
    }
    let mut handle = store.handle().await?;
    let _: u64 = invocation
        .invoke_async(&mut handle)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(super) async fn load(
    store: &RedisStore,
    experiment: &Experiment,
) -> Result<Vec<PluginCalls>, StoreError> {
    let key = ExperimentKeys::of(experiment).plugin_health();
    let mut handle = store.handle().await?;
    let fields: Vec<(String, u64)> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut handle)
        .await
        .map_err(store_error)?;
    let mut calls = vec![PluginCalls::default(); experiment.variants().len()];
    for (field, count) in fields {
        let parsed = field
            .split_once(':')
            .and_then(|(variant, kind)| Some((variant.parse::<usize>().ok()?, kind)));
        let Some((variant, kind)) = parsed else {
            return Err(StoreError::Corrupt {
                what: format!("field `{field}` of `{key}`"),
                source: None,
            });
        };
        // A variant index past the definition's (it cannot change while running) is ignored.
        let Some(counts) = calls.get_mut(variant) else {
            continue;
        };
        match kind {
            "c" => counts.calls = count,
            "f" => counts.fallbacks = count,
            _ => {
                return Err(StoreError::Corrupt {
                    what: format!("field `{field}` of `{key}`"),
                    source: None,
                });
            }
        }
    }
    Ok(calls)
}
