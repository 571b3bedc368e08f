//! Hot swap by name: calls in flight keep their version, a refused upload keeps the old one,
//! and the directory watcher reloads changed files.

use crate::{host, load};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use touchstone_plugin_host::{DirWatcher, EligibleContext, Hook};
use touchstone_testkit::plugins::{plugin_bytes, plugin_path};

fn ctx() -> EligibleContext {
    EligibleContext {
        unit_id: "u".into(),
        touchpoint: "pdp.gallery".into(),
        experiments: vec!["x".into()],
        attributes: json!({"photo_count": 9})
            .as_object()
            .cloned()
            .expect("object"),
        config: json!({"min_photos": 3, "photos_by_device": {}, "default_photos": 2}),
    }
}

#[test]
fn a_new_version_replaces_the_old_while_holders_of_the_old_finish_on_it() {
    let host = host();
    let old = host
        .load("gallery", &plugin_bytes("pdp-ugc-gallery"))
        .expect("loads");
    let new = host
        .load("gallery", &plugin_bytes("event-guard"))
        .expect("loads");
    assert_ne!(old.version(), new.version());
    let current = host.get("gallery").expect("loaded");
    assert_eq!(current.version(), new.version());
    assert_eq!(current.hooks(), &[Hook::Event]);
    // The old version still answers for whoever holds it.
    assert!(old.eligible(&ctx()).expect("old runs")["x"]);
}

#[test]
fn a_refused_upload_leaves_the_loaded_version_in_place() {
    let host = host();
    let loaded = load(&host, "pdp-ugc-gallery");
    host.load("pdp-ugc-gallery", &plugin_bytes("not-wasm"))
        .expect_err("refused");
    assert_eq!(
        host.get("pdp-ugc-gallery").expect("still loaded").version(),
        loaded.version()
    );
}

#[test]
fn remove_unloads_a_plugin() {
    let host = host();
    load(&host, "pdp-ugc-gallery");
    assert!(host.remove("pdp-ugc-gallery"));
    assert!(host.get("pdp-ugc-gallery").is_none());
    assert!(!host.remove("pdp-ugc-gallery"));
}

fn temp_dir(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("touchstone-plugins-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Polls until `done` holds; the watcher runs on its own thread.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_directory_watcher_loads_reloads_and_unloads_plugins() {
    let host = host();
    let dir = temp_dir("watch");
    std::fs::copy(plugin_path("pdp-ugc-gallery"), dir.join("gallery.wasm")).expect("copy");
    std::fs::copy(plugin_path("not-wasm"), dir.join("broken.wasm")).expect("copy");
    let (watcher, outcomes) = DirWatcher::start(
        host.clone(),
        &dir,
        Duration::from_millis(50),
        HashMap::new(),
    )
    .expect("watches");
    assert_eq!(outcomes.len(), 2);
    let broken = outcomes
        .iter()
        .find(|o| o.name == "broken")
        .expect("broken seen");
    assert!(
        broken
            .result
            .as_ref()
            .is_err_and(|why| why.contains("not a WebAssembly module"))
    );
    let first = host
        .get("gallery")
        .expect("loaded at start")
        .version()
        .to_owned();

    // Replace the file: written elsewhere and renamed, as a deploy would.
    std::fs::copy(plugin_path("checkout-free-shipping"), dir.join("next.tmp")).expect("copy");
    std::fs::rename(dir.join("next.tmp"), dir.join("gallery.wasm")).expect("rename");
    eventually("the reload", || {
        host.get("gallery")
            .is_some_and(|plugin| plugin.version() != first)
    });

    std::fs::remove_file(dir.join("gallery.wasm")).expect("remove");
    eventually("the unload", || host.get("gallery").is_none());
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}
