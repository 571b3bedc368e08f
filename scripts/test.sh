#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds the plugins and the
# binary once, then runs format, lint, boundary and test checks. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32-unknown-unknown target (RUSTUP_AUTO_INSTALL=0 installs nothing by itself)"
rustup target add wasm32-unknown-unknown
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  step "installing redis-server (tests run a real Redis on free ports)"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq redis-server redis-tools
    # The package starts a system instance; the tests start their own on free ports.
    ($SUDO service redis-server stop || $SUDO systemctl stop redis-server) >/dev/null 2>&1 || true
  else
    echo "redis-server is missing and apt-get is not available: install Redis 7 and re-run" >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  step "installing Node.js (the layer tests compare with GrowthBook's own JS SDK)"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nodejs npm
  else
    echo "node/npm are missing and apt-get is not available: install Node.js 18+ and re-run" >&2
    exit 1
  fi
fi

step "npm ci: GrowthBook's JS SDK for the layer agreement tests (tests/growthbook)"
(cd tests/growthbook && npm ci --no-audit --no-fund)

if ! command -v clang >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1 || ! command -v wat2wasm >/dev/null 2>&1; then
  step "installing clang, lld and wabt (the C and WAT example plugins are built from source)"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq clang lld wabt
  else
    echo "clang/wasm-ld/wat2wasm are missing and apt-get is not available: install clang, lld and wabt and re-run" >&2
    exit 1
  fi
fi

if [ -x scripts/build-plugins.sh ]; then
  step "building plugins (plugins/ -> plugins/dist/*.wasm)"
  scripts/build-plugins.sh
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "dependency boundaries (model and stats stay free of I/O crates)"
scripts/check-boundaries.sh

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "building the touchstone binary for the end-to-end tests"
cargo build -p touchstone-server --bin touchstone

step "cargo test"
cargo test --workspace

step "browser tests of the dashboard (tests/ui: Debian's chromium driven by playwright-core)"
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # Debian's own build: the test never downloads a browser of its own.
    $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and apt-get is not available: install Chromium and re-run" >&2
    exit 1
  fi
fi
(
  cd tests/ui
  npm ci --no-audit --no-fund
  # The debug binary built above; the test starts it itself on a free port.
  npm test
)

step "OpenFeature and browser-client tests (tests/openfeature: OpenFeature's OFREP providers from npm, chromium on the demo shop)"
(
  cd tests/openfeature
  npm ci --no-audit --no-fund
  # The same debug binary and chromium as the dashboard tests.
  npm test
)
