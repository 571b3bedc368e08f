#!/usr/bin/env bash
# Architecture invariant: the domain and statistics crates do no I/O. Fails when an async
# runtime, a database client, the web framework or the WASM runtime leaks into them.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for crate in touchstone-model touchstone-stats; do
  tree=$(cargo tree -p "$crate" -e normal --prefix none --no-dedupe)
  for forbidden in tokio redis actix-web actix-rt wasmtime reqwest; do
    if grep -qE "^${forbidden} v" <<<"$tree"; then
      echo "boundary violated: $crate depends on $forbidden" >&2
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "boundaries ok: model and stats depend on no I/O crate"
exit "$status"
