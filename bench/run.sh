#!/usr/bin/env bash
# The benchmark report, in one command (never part of ./dev.sh test):
#   bench/run.sh
# Builds the release binary and WASM, installs oha (the load generator, from crates.io) if missing, starts a
# throwaway PostgreSQL on a loopback port when its binaries are installed, and prints one table of figures
# for SQLite and PostgreSQL, each beside a bare axum handler measured in the same run. Every load runs for
# PARLEY_BENCH_SECONDS (default 10); the whole run takes about ten minutes on two cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OHA_VERSION=1.16.0
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/parley-target}"
export PATH="$HOME/.cargo/bin:${PARLEY_TOOLS_DIR:-$HOME/.cache/parley-tools}/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=parley

if oha --version 2>/dev/null | grep -q " $OHA_VERSION"; then :; else
  echo "==> installing oha $OHA_VERSION (once)"
  cargo install oha --version "$OHA_VERSION" --locked
fi

echo "==> building the release binary and WASM bundle, and the bench"
cargo leptos build --release
cargo build --release --locked -p parley-bench --bin bare --bin report

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  PG_DIR="$(mktemp -d /tmp/parley-bench-pg-XXXXXX)"
  trap 'scripts/pg-test-cluster.sh remove "$PG_DIR"' EXIT
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  admin="$(scripts/pg-test-cluster.sh start "$PG_DIR" "$port")"
  psql "$admin" -qc 'CREATE DATABASE bench'
  export PARLEY_BENCH_POSTGRES_URL="${admin%/*}/bench"
else
  echo "==> PostgreSQL is not installed here: measuring SQLite only"
fi

echo "==> measuring"
PARLEY_BENCH_BIN="$CARGO_TARGET_DIR/release/parley" \
PARLEY_BENCH_BARE_BIN="$CARGO_TARGET_DIR/release/bare" \
PARLEY_BENCH_SITE="$ROOT/target/site" \
  "$CARGO_TARGET_DIR/release/report"
