//! Conformance cases for plugins in the store: modules addressed by their SHA-256, names,
//! bindings and imported digests change in one compare-and-set on the definitions version and
//! read back together; servers' heartbeats list the live ones — on Redis Cluster too.

use crate::fixtures::unique;
use serde_json::json;
use std::collections::BTreeMap;
use touchstone_model::Timestamp;
use touchstone_store::{
    MAX_MODULE_BYTES, PluginChange, ServerPlugins, Store, StoreError, StoredBinding, sha256_hex,
};

/// Saves `changes` against the freshest version, retrying while other tests move it.
async fn save(store: &dyn Store, changes: &[PluginChange]) -> u64 {
    for _ in 0..100 {
        let version = store.definitions_version().await.expect("version");
        if let Some(saved) = store
            .save_plugins_if(changes, version)
            .await
            .expect("saved")
        {
            assert_eq!(saved, version + 1, "one step per batch");
            return saved;
        }
    }
    panic!("the definitions version never stood still");
}

fn upload(name: &str, module: &[u8]) -> PluginChange {
    PluginChange::Upload {
        name: name.to_owned(),
        module: module.to_vec(),
        from_file: None,
    }
}

pub async fn a_module_and_its_binding_change_together_under_the_definitions_version(
    store: &dyn Store,
) {
    let name = unique("gallery");
    let touchpoint = unique("pdp.gallery");
    let first = format!("module one of {name}").into_bytes();
    let second = format!("module two of {name}").into_bytes();
    let bind = |config: serde_json::Value| PluginChange::Bind {
        touchpoint: touchpoint.clone(),
        binding: StoredBinding {
            plugin: name.clone(),
            config,
        },
        from_file: Some("digest-of-the-file".into()),
    };
    let saved = save(store, &[upload(&name, &first), bind(json!({"min": 1}))]).await;
    let set = store.load_plugins().await.expect("loaded");
    assert!(set.version >= saved);
    assert!(store.definitions_version().await.expect("version") >= saved);
    assert_eq!(set.plugins.get(&name), Some(&sha256_hex(&first)));
    assert_eq!(set.bindings[&touchpoint].config, json!({"min": 1}));
    assert_eq!(
        set.imported
            .get(&format!("binding:{touchpoint}"))
            .map(String::as_str),
        Some("digest-of-the-file")
    );
    assert_eq!(
        store.load_module(&sha256_hex(&first)).await.expect("read"),
        Some(first.clone())
    );

    // A stale version writes nothing.
    let stale = store
        .save_plugins_if(
            &[upload(&name, &second), bind(json!({"min": 2}))],
            saved - 1,
        )
        .await
        .expect("answered");
    assert_eq!(stale, None);
    let unchanged = store.load_plugins().await.expect("loaded");
    assert_eq!(unchanged.plugins.get(&name), Some(&sha256_hex(&first)));
    assert_eq!(unchanged.bindings[&touchpoint].config, json!({"min": 1}));

    // Module and config replaced in one step; the module no name refers to is dropped.
    save(store, &[upload(&name, &second), bind(json!({"min": 2}))]).await;
    let set = store.load_plugins().await.expect("loaded");
    assert_eq!(set.plugins.get(&name), Some(&sha256_hex(&second)));
    assert_eq!(set.bindings[&touchpoint].config, json!({"min": 2}));
    assert_eq!(
        store.load_module(&sha256_hex(&first)).await.expect("read"),
        None
    );

    // A module above the bound is refused whole: the binding beside it is not written either.
    let huge = vec![0_u8; MAX_MODULE_BYTES + 1];
    let version = store.definitions_version().await.expect("version");
    let refused = store
        .save_plugins_if(&[upload(&name, &huge), bind(json!({"min": 3}))], version)
        .await;
    assert!(matches!(refused, Err(StoreError::Config(_))), "{refused:?}");
    assert_eq!(
        store.load_plugins().await.expect("loaded").bindings[&touchpoint].config,
        json!({"min": 2})
    );

    // Unbind and remove: nothing left, the module gone too.
    let unbind = PluginChange::Unbind {
        touchpoint: touchpoint.clone(),
    };
    let remove = PluginChange::Remove { name: name.clone() };
    save(store, &[unbind, remove]).await;
    let set = store.load_plugins().await.expect("loaded");
    assert!(!set.plugins.contains_key(&name) && !set.bindings.contains_key(&touchpoint));
    assert_eq!(
        store.load_module(&sha256_hex(&second)).await.expect("read"),
        None
    );
}

pub async fn two_names_may_share_one_module(store: &dyn Store) {
    let (a, b) = (unique("shared-a"), unique("shared-b"));
    let module = format!("one module for {a} and {b}").into_bytes();
    save(store, &[upload(&a, &module), upload(&b, &module)]).await;
    save(store, &[PluginChange::Remove { name: a.clone() }]).await;
    assert_eq!(
        store.load_module(&sha256_hex(&module)).await.expect("read"),
        Some(module.clone()),
        "still referred to by the other name"
    );
    save(store, &[PluginChange::Remove { name: b }]).await;
    assert_eq!(
        store.load_module(&sha256_hex(&module)).await.expect("read"),
        None
    );
}

pub async fn heartbeats_list_the_servers_that_have_not_expired(store: &dyn Store) {
    let now = Timestamp::from_millis(1_800_000_000_000);
    let report = |server: &str, expires_in: i64, version: &str| ServerPlugins {
        server: server.to_owned(),
        seen_at: now,
        expires_at: Timestamp::from_millis(now.as_millis() + expires_in),
        version: 7,
        plugins: BTreeMap::from([("gallery".to_owned(), version.to_owned())]),
    };
    let (live, gone) = (unique("live:8080"), unique("gone:8080"));
    store
        .report_server(&report(&live, 5_000, "aaaa"))
        .await
        .expect("reported");
    store
        .report_server(&report(&gone, -1, "aaaa"))
        .await
        .expect("reported");
    // A later heartbeat replaces the earlier one.
    store
        .report_server(&report(&live, 5_000, "bbbb"))
        .await
        .expect("reported");
    let servers = store.load_servers(now).await.expect("loaded");
    let ours: Vec<&ServerPlugins> = servers
        .iter()
        .filter(|server| server.server == live || server.server == gone)
        .collect();
    assert_eq!(ours, [&report(&live, 5_000, "bbbb")]);
}
