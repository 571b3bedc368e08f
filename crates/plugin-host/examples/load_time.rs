//! How long loading a plugin takes: compiled with Cranelift, against loaded from the
//! precompiled artifact a previous start left in `plugins.cache_dir`.
//! Run: `scripts/build-plugins.sh && cargo run --release -p touchstone-plugin-host --example load_time`.

use std::time::Instant;
use touchstone_plugin_host::{Compiled, HostConfig, PluginHost};
use touchstone_testkit::binary::TempDir;
use touchstone_testkit::plugins::plugin_bytes;

fn main() {
    let dir = TempDir::new("plugin-load-time");
    let host = || {
        PluginHost::new(HostConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            ..HostConfig::default()
        })
        .expect("host")
    };
    eprintln!("plugin                   bytes   compile ms   from cache ms");
    for name in ["checkout-free-shipping", "pdp-ugc-gallery", "event-guard"] {
        let bytes = plugin_bytes(name);
        let started = Instant::now();
        let fresh = host().load(name, &bytes).expect("loads");
        let compile = started.elapsed();
        assert_eq!(fresh.compiled(), Compiled::Fresh);
        let started = Instant::now();
        let cached = host().load(name, &bytes).expect("loads");
        let reload = started.elapsed();
        assert_eq!(cached.compiled(), Compiled::FromCache);
        eprintln!(
            "{name:<24} {:>6}   {:>10.1}   {:>13.1}",
            bytes.len(),
            compile.as_secs_f64() * 1e3,
            reload.as_secs_f64() * 1e3
        );
    }
}
