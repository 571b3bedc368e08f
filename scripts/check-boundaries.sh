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
# The server's inner rooms know no HTTP (decision 016): the use cases, the catalog and its
# decision, the guardrails and the snapshots answer `error::ServiceError` and read
# `clock::Clock`; only http/ (and the dashboard, ui/) turn them into responses.
inner=(crates/server/src/service crates/server/src/guardrails crates/server/src/snapshots.rs
  crates/server/src/catalog.rs crates/server/src/catalog crates/server/src/error.rs
  crates/server/src/clock.rs)
if hits=$(grep -rnE '\bactix_web\b|\bactix_[a-z]+::|crate::http\b|super::http\b|crate::ui\b' "${inner[@]}"); then
  echo "boundary violated: the server's services reach HTTP:" >&2
  echo "$hits" >&2
  status=1
fi
# The API (http/) and the dashboard (ui/) are siblings: what they share lives below both
# (request_body, access::gate, error); only routes/ — the route table — names both.
if hits=$(grep -rnE 'crate::(ui|routes)\b|super::(ui|routes)\b' crates/server/src/http); then
  echo "boundary violated: http/ reaches the dashboard or the route table:" >&2
  echo "$hits" >&2
  status=1
fi
if hits=$(grep -rnE 'crate::(http|routes)\b|super::(http|routes)\b' crates/server/src/ui); then
  echo "boundary violated: ui/ reaches the API handlers or the route table:" >&2
  echo "$hits" >&2
  status=1
fi
# No module circles between the server's top-level modules (scripts/import-circles.py).
if ! circles=$(python3 scripts/import-circles.py crates/server/src --rooms) || ! grep -q '^0 circle' <<<"$circles"; then
  echo "boundary violated: the server's top-level modules import each other:" >&2
  echo "$circles" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "boundaries ok: model and stats depend on no I/O crate; the server's services know no HTTP; http/ and ui/ know only what lies below them; no module circles"
exit "$status"
