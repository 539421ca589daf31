#!/usr/bin/env bash
# Proves that server-only crates never reach the browser bundle, two ways:
#  1. the dependency graph cargo resolves for the `frontend` crate on wasm32 names none of them;
#  2. the built release .wasm carries none of their names (panic and type strings would betray them).
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
else
  echo "FAIL: $wasm not found; build with 'cargo leptos build --release' first" >&2
  exit 1
fi
