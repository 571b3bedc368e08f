#!/usr/bin/env bash
# Builds every plugin in plugins/ to plugins/dist/, where tests find them
# (touchstone_testkit::plugins::plugin_path): the Rust workspace (examples and hostile plugins)
# for wasm32-unknown-unknown, the C examples in plugins/c with Debian's clang + lld, the WAT
# examples in plugins/wat with Debian's wabt (scripts/test.sh installs both), and the fixtures.
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
# C: no libc, no entry point, a 16 KiB stack placed first (an overflow traps instead of
# overwriting data); ABI.md, "C", explains each flag.
for source in c/*.c; do
    name="$(basename "$source" .c)"
    clang --target=wasm32 -nostdlib -Os -Wall -Wextra -Werror \
        -Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=16384 -Wl,--strip-all \
        -o "dist/c-$name.wasm" "$source"
done
for source in wat/*.wat; do
    name="$(basename "$source" .wat)"
    wat2wasm "$source" -o "dist/wat-$name.wasm"
done
cp fixtures/*.wasm dist/
ls -l dist
