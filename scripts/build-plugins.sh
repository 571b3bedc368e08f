#!/usr/bin/env bash
# Builds every plugin in plugins/ (example and hostile) for wasm32-unknown-unknown and copies
# the .wasm files, with the fixtures, to plugins/dist/, where tests find them
# (touchstone_testkit::plugins::plugin_path).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/plugins"
# RUSTUP_AUTO_INSTALL=0 on CI: rust-toolchain.toml alone installs nothing.
if command -v rustup >/dev/null; then
    rustup target add wasm32-unknown-unknown >/dev/null
fi
# Its own target dir unless told otherwise, so it never fights the host build for a lock.
export CARGO_TARGET_DIR="${PLUGINS_TARGET_DIR:-$root/plugins/target}"
cargo build --release --locked --target wasm32-unknown-unknown 2>&1 || \
    cargo build --release --target wasm32-unknown-unknown
mkdir -p dist
for wasm in "$CARGO_TARGET_DIR"/wasm32-unknown-unknown/release/*.wasm; do
    name="$(basename "$wasm" .wasm)"
    cp "$wasm" "dist/${name//_/-}.wasm"
done
cp fixtures/*.wasm dist/
ls -l dist
