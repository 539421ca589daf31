#!/usr/bin/env bash
# Checks the browser bundle:
#  1. the dependency graph cargo resolves for the `frontend` crate on wasm32 names no server-only crate;
#  2. the built release .wasm carries none of their names (panic and type strings would betray them);
#  3. the release .wasm, gzipped (gzip's default level, as a server compresses on the fly), stays within
#     the budget: 200 KB unless PARLEY_WASM_GZIP_BUDGET says otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FORBIDDEN='sqlx|argon2|jsonwebtoken|tokio|tower-sessions|tower_sessions|libsqlite3'

graph="$(cargo tree --locked -p frontend --target wasm32-unknown-unknown -e normal --prefix none --format '{p}')"
if leaked="$(grep -E "^($FORBIDDEN)[ -]" <<<"$graph" | sort -u)" && [ -n "$leaked" ]; then
  echo "FAIL: server-only crates in the frontend's dependency graph:" >&2
  echo "$leaked" >&2
  exit 1
fi
echo "ok: the frontend's wasm32 dependency graph ($(sort -u <<<"$graph" | wc -l) crates) has none of: $FORBIDDEN"

wasm="target/site/pkg/parley.wasm"
if [ -f "$wasm" ]; then
  if grep -aoE "$FORBIDDEN" "$wasm" | sort | uniq -c | grep .; then
    echo "FAIL: $wasm mentions server-only crates (above)" >&2
    exit 1
  fi
  echo "ok: $wasm ($(wc -c <"$wasm") bytes) mentions none of them"
  budget="${PARLEY_WASM_GZIP_BUDGET:-200000}"
  gzipped="$(gzip -c "$wasm" | wc -c)"
  if [ "$gzipped" -gt "$budget" ]; then
    echo "FAIL: $wasm is $gzipped bytes gzipped, over the budget of $budget" >&2
    exit 1
  fi
  echo "ok: $wasm is $gzipped bytes gzipped, within the budget of $budget"
else
  echo "FAIL: $wasm not found; build with 'cargo leptos build --release' first" >&2
  exit 1
fi
