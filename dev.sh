#!/usr/bin/env bash
# Parley's two commands. Each installs what is missing, skipping whatever is already there:
#   ./dev.sh run    serve the app with live reload at http://127.0.0.1:3000 (SQLite, development defaults)
#   ./dev.sh test   run every test: unit, integration (real SQLite, real server) and Playwright (real Chromium)
#   ./dev.sh image  build the container image parley:latest from the release build (podman or docker)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION=0.3.7
BINARYEN_VERSION=132
# Build outputs and tools live outside the clone, so a fresh clone (CI) reuses them when they exist.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/parley-target}"
TOOLS_DIR="${PARLEY_TOOLS_DIR:-$HOME/.cache/parley-tools}"
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"
# cargo-leptos compiles the server with this set, and Leptos reads it at compile time to name the WASM file.
# Setting it for every cargo command keeps `cargo test` from rebuilding (and renaming) the same binary.
export LEPTOS_OUTPUT_NAME=parley

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

step() { printf '\n==> %s\n' "$*"; }
skip() { printf '    already done: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: '$*' needs root; run it as root or install it yourself" >&2; exit 1; fi
}

apt_install() {
  step "installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

ensure_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    skip "wasm32-unknown-unknown target"
  else
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_lint_tools() {
  if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
    skip "rustfmt and clippy"
  else
    step "adding rustfmt and clippy"
    rustup component add rustfmt clippy
  fi
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
    skip "cargo-leptos $CARGO_LEPTOS_VERSION"
  else
    step "building cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
}

ensure_wasm_bindgen() {
  # The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  if wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    skip "wasm-bindgen-cli $want"
  else
    step "building wasm-bindgen-cli $want (about 2 minutes, once)"
    # Not --locked: its lock file names a crate release this registry does not have.
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

ensure_wasm_opt() {
  # Release builds need a current wasm-opt; Debian's (108) builds a bundle that silently fails to hydrate.
  if wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    skip "wasm-opt $BINARYEN_VERSION"
  else
    step "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
  fi
}

ensure_postgres() {
  # Tests start a throwaway cluster of their own (scripts/pg-test-cluster.sh), never the system service.
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then skip "PostgreSQL server binaries"; else apt_install postgresql; fi
}

ensure_nginx() {
  if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then skip "nginx"; else apt_install nginx; fi
}

# PgBouncer 1.24 in transaction mode, for the pooled pass (scripts/pgbouncer.sh says why it is built here).
ensure_pgbouncer() {
  if [ -x "$TOOLS_DIR/pgbouncer-1.24.1/bin/pgbouncer" ]; then skip "PgBouncer 1.24.1"; return; fi
  if ! pkg-config --exists libevent 2>/dev/null; then apt_install libevent-dev pkg-config; fi
  step "building PgBouncer 1.24.1 from Debian's source package (about 20 seconds, once)"
  PARLEY_TOOLS_DIR="$TOOLS_DIR" scripts/pgbouncer.sh ensure >/dev/null
}

# The container engine. `./dev.sh image` takes docker when it is there and podman is not; the tests always
# run podman (with runc, and debootstrap for a base image when no registry is reachable), with a
# containers.conf of ours: runc as the runtime and no rlimits set in containers, which this kind of machine
# refuses.
ensure_container_engine() {
  if [ "${1:-}" = "any" ] && command -v docker >/dev/null && ! command -v podman >/dev/null; then
    ENGINE=docker
    skip "docker"
    return
  fi
  ENGINE=podman
  if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
    skip "podman, runc and debootstrap"
  else
    apt_install podman runc debootstrap
  fi
  if [ -z "${CONTAINERS_CONF:-}" ]; then
    mkdir -p "$TOOLS_DIR"
    printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$TOOLS_DIR/containers.conf"
    export CONTAINERS_CONF="$TOOLS_DIR/containers.conf"
  fi
}

PODMAN_COMPOSE_VERSION=1.5.0
ensure_podman_compose() {
  local venv="$TOOLS_DIR/podman-compose-$PODMAN_COMPOSE_VERSION"
  if [ -x "$venv/bin/podman-compose" ]; then
    skip "podman-compose $PODMAN_COMPOSE_VERSION"
  else
    step "installing podman-compose $PODMAN_COMPOSE_VERSION (PyPI) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "podman-compose==$PODMAN_COMPOSE_VERSION"
  fi
  PODMAN_COMPOSE_VENV="$venv"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then skip "chromium"; else apt_install chromium; fi
}

ensure_end2end_packages() {
  if [ -d end2end/node_modules/@playwright/test ] && [ end2end/node_modules -nt end2end/package-lock.json ]; then
    skip "end2end npm packages"
  else
    step "installing the end2end npm packages"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

# Python's `cryptography` and `standardwebhooks` (PyPI), pinned: the suite checks that Parley's Fernet tokens
# and Python's read each other, and verifies Parley's webhooks with the Standard Webhooks library
# (server/tests/api/at_rest.rs and insights.rs, through PARLEY_TEST_PYTHON).
PYTHON_INTEROP="cryptography==46.0.3 standardwebhooks==1.1.0"
ensure_python_interop() {
  local venv="$TOOLS_DIR/python-interop-cryptography-46.0.3-standardwebhooks-1.1.0"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import cryptography, standardwebhooks' 2>/dev/null; then
    skip "Python $PYTHON_INTEROP"
  else
    step "installing Python $PYTHON_INTEROP into $venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per package
    "$venv/bin/pip" install --quiet --disable-pip-version-check $PYTHON_INTEROP
  fi
  export PARLEY_TEST_PYTHON="$venv/bin/python"
}

cmd_run() {
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
  step "serving Parley at http://127.0.0.1:3000 (SQLite in ./data, live reload)"
  exec cargo leptos watch
}

cmd_image() {
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_wasm_opt
  ensure_container_engine any
  step "building the release binary and WASM bundle"
  cargo leptos build --release
  step "building the image parley:latest ($ENGINE)"
  scripts/container-image.sh "$ENGINE" parley:latest
}

# The image's tests: one container on SQLite in a volume, two on the tests' PostgreSQL behind nginx
# (server/tests/container.rs), and compose.yaml checked against what they ran. Skipped, loudly, only where
# the engine cannot run at all.
test_container_image() {
  local pg_url="$1"
  if ! "$ENGINE" info >/dev/null 2>&1; then
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! SKIPPED: the container image tests (%s cannot run on this machine)\n' "$ENGINE"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    return
  fi
  scripts/container-image.sh "$ENGINE" parley:latest
  PARLEY_TEST_IMAGE=parley:latest PARLEY_TEST_CONTAINER_ENGINE="$ENGINE" PARLEY_TEST_POSTGRES_URL="$pg_url" \
    cargo test --release --locked -p parley --test container -- --ignored
  "$PODMAN_COMPOSE_VENV/bin/python" scripts/check-compose.py "$PODMAN_COMPOSE_VENV/bin/podman-compose" parley:latest \
    SESSION_SECRET JWT_SECRET PARLEY_ENCRYPTION_KEYS PARLEY_SEARCH_KEY PARLEY_MAIL_FROM DATABASE_URL PARLEY_TRUST_PROXY
}

check_code() {
  step "checking the code: formatting, lints (the server, the bench, and app with each of its features) and the server's floors"
  cargo fmt --check
  cargo clippy --locked --all-targets -p parley -p parley-bench -p app -- -D warnings
  cargo clippy --locked --lib -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
  python3 scripts/check-layers.py
}

cmd_test() {
  local started=$SECONDS
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_wasm_opt
  ensure_chromium
  ensure_postgres
  ensure_nginx
  ensure_pgbouncer
  ensure_end2end_packages
  ensure_python_interop
  ensure_container_engine
  ensure_podman_compose
  ensure_lint_tools
  check_code

  step "starting a throwaway PostgreSQL on a loopback port"
  PG_DIR="$(mktemp -d /tmp/parley-pg-XXXXXX)"
  trap 'scripts/pg-test-cluster.sh remove "$PG_DIR"' EXIT
  local pg_url
  pg_url="$(scripts/pg-test-cluster.sh start "$PG_DIR" "$(free_port)")"
  export PATH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1):$PATH"

  step "running the Rust tests on SQLite (unit, integration, the outage test with its own PostgreSQL)"
  # Each integration test starts its own server in this one process, on a database of its own; the tests
  # run in parallel.
  cargo test --release --locked -p app -p parley

  step "running the Rust integration tests again on PostgreSQL (a fresh database per test)"
  PARLEY_TEST_POSTGRES_URL="$pg_url" cargo test --release --locked -p parley --test api

  step "running them a third time through PgBouncer in transaction mode (PARLEY_DB_POOLER=transaction)"
  local pg_port="${pg_url##*:}" pgb_url
  PGB_DIR="$(mktemp -d /tmp/parley-pgbouncer-XXXXXX)"
  trap 'scripts/pgbouncer.sh stop "$PGB_DIR"; scripts/pg-test-cluster.sh remove "$PG_DIR"' EXIT
  pgb_url="$(scripts/pgbouncer.sh start "$PGB_DIR" "$(free_port)" "${pg_port%%/*}")"
  PARLEY_TEST_POSTGRES_URL="$pgb_url" PARLEY_TEST_DB_POOLER=transaction cargo test --release --locked -p parley --test api
  scripts/pgbouncer.sh stop "$PGB_DIR"

  step "building the release binary and WASM bundle"
  cargo leptos build --release

  step "checking the WASM bundle: no server-only crate in it, and within its gzipped size budget"
  scripts/check-wasm-bundle.sh

  step "building the container image from the release build and testing it ($ENGINE)"
  test_container_image "$pg_url"

  step "fuzzing the JSON API against its OpenAPI document on SQLite (schemathesis, the release binary, bounded)"
  scripts/fuzz-api.sh "$CARGO_TARGET_DIR/release/parley" "$ROOT/target/site"

  step "fuzzing the JSON API again on PostgreSQL"
  psql "$pg_url" -qc 'CREATE DATABASE fuzz'
  scripts/fuzz-api.sh "$CARGO_TARGET_DIR/release/parley" "$ROOT/target/site" "${pg_url%/*}/fuzz"

  step "running the browser tests on SQLite (Playwright, Debian's Chromium, the release binary)"
  (cd end2end && PARLEY_BIN="$CARGO_TARGET_DIR/release/parley" npx playwright test)

  step "running the browser tests on PostgreSQL, with two instances behind nginx"
  (cd end2end && PARLEY_BIN="$CARGO_TARGET_DIR/release/parley" PARLEY_E2E_POSTGRES_URL="$pg_url" npx playwright test)

  step "all tests passed in $((SECONDS - started)) s"
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  image) cmd_image ;;
  *) echo "usage: ./dev.sh run | ./dev.sh test | ./dev.sh image" >&2; exit 2 ;;
esac
