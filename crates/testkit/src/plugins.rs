//! Paths of the `.wasm` plugins built from `plugins/` by `scripts/build-plugins.sh` (which
//! copies them to `plugins/dist/`). Tests use real modules built from source, never stand-ins.

use std::path::PathBuf;

/// `plugins/dist/`, from this crate's location in the workspace.
pub fn dist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist")
}

/// The built plugin `name` (e.g. `checkout-free-shipping`), or a panic telling how to build it.
pub fn plugin_path(name: &str) -> PathBuf {
    let path = dist_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "plugin `{name}` is not built: {} is missing. Run scripts/build-plugins.sh first.",
        path.display()
    );
    path
}

/// The bytes of the built plugin `name` (see [`plugin_path`]).
pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}
