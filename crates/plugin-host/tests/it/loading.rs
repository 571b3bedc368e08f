//! Load-time refusals, each with a message saying why, and `inspect` for `plugin check`.

use crate::host;
use touchstone_plugin_host::{Hook, HostConfig, Limits, PluginError, PluginHost};
use touchstone_testkit::plugins::plugin_bytes;

/// A hand-assembled module that exports a 1-page `memory` and nothing else.
const MEMORY_ONLY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
    0x07, 0x0a, 0x01, 0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // export memory
];

/// A hand-assembled module with an `eligible` hook `(i32, i32) -> i64` but no memory.
const HOOK_WITHOUT_MEMORY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e, // type (i32, i32) -> i64
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x07, 0x0c, 0x01, 0x08, b'e', b'l', b'i', b'g', b'i', b'b', b'l', b'e', 0x00, 0x00, 0x0a, 0x06,
    0x01, 0x04, 0x00, 0x42, 0x00, 0x0b, // body: i64.const 0
];

fn refusal(host: &PluginHost, bytes: &[u8]) -> PluginError {
    host.load("candidate", bytes)
        .expect_err("the module is refused")
}

#[test]
fn a_forbidden_import_is_refused_naming_the_import() {
    let host = host();
    let error = refusal(&host, &plugin_bytes("hostile-forbidden-import"));
    assert!(matches!(error, PluginError::ForbiddenImport { .. }));
    assert_eq!(
        error.to_string(),
        "imports `env.open`; a plugin may import only `touchstone.log`"
    );
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let host = host();
    let error = refusal(&host, &plugin_bytes("not-wasm"));
    assert!(matches!(error, PluginError::NotWasm));
    assert!(error.to_string().contains("not a WebAssembly module"));
}

#[test]
fn a_component_is_refused_as_not_a_core_module() {
    let host = host();
    let component = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    assert!(matches!(refusal(&host, &component), PluginError::Component));
}

#[test]
fn a_module_over_the_size_limit_is_refused_before_compiling() {
    let host = PluginHost::new(HostConfig {
        default_limits: Limits {
            module_bytes: 1024,
            ..Limits::default()
        },
        ..HostConfig::default()
    })
    .expect("starts");
    let error = refusal(&host, &plugin_bytes("checkout-free-shipping"));
    assert!(matches!(
        error,
        PluginError::ModuleTooLarge { limit: 1024, .. }
    ));
    assert!(error.to_string().contains("more than the limit of 1024"));
}

#[test]
fn a_module_without_hooks_is_refused() {
    let host = host();
    let error = refusal(&host, MEMORY_ONLY);
    assert!(matches!(error, PluginError::NoHooks));
    assert!(
        error
            .to_string()
            .contains("at least one of `eligible`, `payload`, `event`")
    );
}

#[test]
fn a_module_without_memory_is_refused() {
    let host = host();
    let error = refusal(&host, HOOK_WITHOUT_MEMORY);
    assert!(matches!(error, PluginError::MissingMemory), "{error:?}");
    assert_eq!(error.to_string(), "exports no memory named `memory`");
}

#[test]
fn bytes_that_start_like_wasm_but_do_not_compile_are_refused() {
    let host = host();
    let mut broken = MEMORY_ONLY.to_vec();
    broken.push(0xff);
    assert!(matches!(refusal(&host, &broken), PluginError::Compile(_)));
}

#[test]
fn limits_above_the_hosts_ceiling_are_refused() {
    let host = host();
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let error = host
        .load_with_limits("big", &plugin_bytes("pdp-ugc-gallery"), limits)
        .expect_err("refused");
    assert!(matches!(error, PluginError::BadLimits(_)));
}

#[test]
fn inspect_lists_hooks_imports_and_the_version_it_would_get() {
    let host = host();
    let bytes = plugin_bytes("checkout-free-shipping");
    let report = host.inspect(&bytes);
    assert_eq!(report.refused, None);
    assert_eq!(report.hooks, vec![Hook::Eligible, Hook::Payload]);
    assert!(report.exports.contains(&"memory".to_string()));
    assert!(report.exports.contains(&"touchstone_alloc".to_string()));
    // Built with the 64 KiB guest stack of plugins/.cargo/config.toml: Rust's default 1 MiB
    // stack alone would take 16 pages.
    let (initial_pages, _) = report.memory_pages.expect("exports a memory");
    assert!(initial_pages < 16, "{initial_pages} pages");
    let loaded = host.load("checkout", &bytes).expect("loads");
    assert_eq!(report.version, loaded.version());
    assert_eq!(loaded.version().len(), 12);
}

#[test]
fn inspect_says_why_a_module_would_be_refused() {
    let host = host();
    let report = host.inspect(&plugin_bytes("hostile-forbidden-import"));
    assert_eq!(report.imports, vec!["env.open".to_string()]);
    assert_eq!(
        report.refused.as_deref(),
        Some("imports `env.open`; a plugin may import only `touchstone.log`")
    );
}

#[test]
fn the_log_import_is_the_one_import_allowed() {
    let host = host();
    let report = host.inspect(&plugin_bytes("event-guard"));
    assert_eq!(report.imports, vec!["touchstone.log".to_string()]);
    assert_eq!(report.refused, None);
}
