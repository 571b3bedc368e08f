//! Paths of the `.wasm` plugins built from `plugins/`.
