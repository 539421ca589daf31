#!/usr/bin/env bash
# Fuzzes the JSON API with schemathesis (PyPI) against the real release binary and the OpenAPI document it
# serves: no 5xx, no status code or body the document does not describe, no crash. The hooks in
# scripts/fuzz_hooks.py give every case a live token and real ids and put hostile text (NUL, lone
# surrogates, a megabyte) into string fields; afterwards scripts/check-fuzz-reach.py fails the run if an
# operation was never called or only ever answered 401, 404 or 429.
# Bounded: schemathesis stops after PARLEY_FUZZ_SECONDS (default 90), and every wait here is bounded.
#   scripts/fuzz-api.sh PARLEY_BINARY SITE_ROOT [DATABASE_URL]    (default: a fresh SQLite file)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="$1"
SITE="$2"
SCHEMATHESIS_VERSION=4.32.5
TOOLS_DIR="${PARLEY_TOOLS_DIR:-$HOME/.cache/parley-tools}"
VENV="$TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
SECONDS_BUDGET="${PARLEY_FUZZ_SECONDS:-90}"

if [ -x "$VENV/bin/st" ]; then
  echo "    already done: schemathesis $SCHEMATHESIS_VERSION"
else
  echo "    installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d /tmp/parley-fuzz-XXXXXX)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
DB_URL="${3:-sqlite://$WORK/fuzz.db}"
env -i PATH="$PATH" PARLEY_ENV=production DATABASE_URL="$DB_URL" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
  LEPTOS_SITE_ROOT="$SITE" SESSION_SECRET=fuzz-session-secret-0123456789abcdef0123 \
  JWT_SECRET=fuzz-jwt-secret-0123456789abcdef0123456789 \
  PARLEY_ENCRYPTION_KEYS=cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4= PARLEY_SEARCH_KEY=fuzz-search-key-0123456789abcdef0123456789 PARLEY_MAIL_FROM=noreply@parley.test \
  PARLEY_MAIL_OUTBOX="$WORK/outbox" RUST_LOG=error PARLEY_DEMO_CHUNK_DELAY_MS=0 PARLEY_RATE_LIMIT_SEARCH_PER_USER=100000 \
  PARLEY_RATE_LIMIT_AUTH_PER_IP=1000000 PARLEY_RATE_LIMIT_LOGIN_FAILURES=1000000 \
  "$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

for _ in $(seq 1 200); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { echo "FAIL: the server exited at start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.05
done
curl -fsS "$BASE/health" >/dev/null

RECORD="$WORK/answers.jsonl"
fuzz() {
  PYTHONPATH="$PWD/scripts" SCHEMATHESIS_HOOKS=fuzz_hooks PARLEY_FUZZ_BASE="$BASE" PARLEY_FUZZ_RECORD="$RECORD" \
    "$VENV/bin/st" run "$BASE/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --request-timeout 10 --workers 2 "$@"
}
status=0
fuzz --max-time "$SECONDS_BUDGET" || status=$?
"$VENV/bin/python" scripts/check-fuzz-reach.py "$BASE/api/v1/openapi.json" "$RECORD" || status=1

if ! kill -0 "$SERVER" 2>/dev/null; then
  echo "FAIL: the server died during fuzzing:" >&2
  tail -50 "$WORK/server.log" >&2
  exit 1
fi
if grep -qi "panicked" "$WORK/server.log"; then
  echo "FAIL: the server panicked during fuzzing:" >&2
  grep -i -A5 "panicked" "$WORK/server.log" | head -40 >&2
  exit 1
fi
exit "$status"
