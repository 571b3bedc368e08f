//! Precompiled artifacts: a second host (a restarted server) on the same cache directory loads
//! the module without compiling it, and a damaged artifact is compiled again, never trusted.

use serde_json::json;
use touchstone_plugin_host::{Compiled, EligibleContext, HostConfig, Limits, PluginHost};
use touchstone_testkit::binary::TempDir;
use touchstone_testkit::plugins::plugin_bytes;

fn host_with_cache(dir: &TempDir) -> PluginHost {
    PluginHost::new(HostConfig {
        default_limits: Limits {
            epoch_ticks: 200,
            ..Limits::default()
        },
        cache_dir: Some(dir.path().to_path_buf()),
        ..HostConfig::default()
    })
    .expect("the plugin host starts")
}

fn artifacts(dir: &TempDir) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.path())
        .expect("cache directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

fn answers_for_its_unit(host: &PluginHost) {
    let plugin = host.get("gallery").expect("loaded");
    let ctx = EligibleContext {
        unit_id: "u-1".into(),
        touchpoint: "pdp.gallery".into(),
        experiments: vec!["pdp-gallery".into()],
        attributes: json!({"photo_count": 10, "device": "mobile"})
            .as_object()
            .cloned()
            .expect("object"),
        config: json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
    };
    let eligible = plugin.eligible(&ctx).expect("eligible runs");
    assert_eq!(eligible.get("pdp-gallery"), Some(&true));
}

#[test]
fn a_restarted_host_loads_the_precompiled_module_instead_of_compiling() {
    let dir = TempDir::new("plugin-cache");
    let bytes = plugin_bytes("pdp-ugc-gallery");
    let first = host_with_cache(&dir);
    let loaded = first.load("gallery", &bytes).expect("loads");
    assert_eq!(loaded.compiled(), Compiled::Fresh);
    assert_eq!(artifacts(&dir).len(), 1, "one artifact written");
    answers_for_its_unit(&first);
    drop(first);

    let restarted = host_with_cache(&dir);
    let loaded = restarted.load("gallery", &bytes).expect("loads");
    assert_eq!(loaded.compiled(), Compiled::FromCache);
    answers_for_its_unit(&restarted);
}

#[test]
fn a_damaged_artifact_is_compiled_again_and_replaced() {
    let dir = TempDir::new("plugin-cache-damaged");
    let bytes = plugin_bytes("pdp-ugc-gallery");
    host_with_cache(&dir)
        .load("gallery", &bytes)
        .expect("loads");
    let [artifact] = artifacts(&dir).try_into().expect("one artifact");
    std::fs::write(&artifact, b"not an artifact").expect("damaged");

    let host = host_with_cache(&dir);
    let loaded = host
        .load("gallery", &bytes)
        .expect("loads despite the damage");
    assert_eq!(loaded.compiled(), Compiled::Fresh);
    answers_for_its_unit(&host);
    assert!(
        std::fs::metadata(&artifact).expect("rewritten").len() > 1000,
        "the damaged artifact was replaced by a real one"
    );
}
