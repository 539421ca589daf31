#!/usr/bin/env bash
# Fuzzes the JSON API with schemathesis (PyPI) against the real release binary and the OpenAPI document it
# serves, as a signed-up user: no 5xx, no status code or body the document does not describe, no crash.
# Bounded: schemathesis stops after PARLEY_FUZZ_SECONDS (default 120), and every wait here is bounded.
#   scripts/fuzz-api.sh PARLEY_BINARY SITE_ROOT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="$1"
SITE="$2"
SCHEMATHESIS_VERSION=4.32.5
TOOLS_DIR="${PARLEY_TOOLS_DIR:-$HOME/.cache/parley-tools}"
VENV="$TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
SECONDS_BUDGET="${PARLEY_FUZZ_SECONDS:-120}"

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
env -i PATH="$PATH" PARLEY_ENV=production DATABASE_URL="sqlite://$WORK/fuzz.db" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
  LEPTOS_SITE_ROOT="$SITE" SESSION_SECRET=fuzz-session-secret-0123456789abcdef0123 \
  JWT_SECRET=fuzz-jwt-secret-0123456789abcdef0123456789 \
  PARLEY_ENCRYPTION_KEYS=cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4= PARLEY_SEARCH_KEY=fuzz-search-key-0123456789abcdef0123456789 PARLEY_MAIL_FROM=noreply@parley.test \
  PARLEY_MAIL_OUTBOX="$WORK/outbox" RUST_LOG=error PARLEY_DEMO_CHUNK_DELAY_MS=0 PARLEY_RATE_LIMIT_SEARCH_PER_USER=100000 \
  "$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

for _ in $(seq 1 200); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { echo "FAIL: the server exited at start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.05
done
curl -fsS "$BASE/health" >/dev/null

# A user with a conversation and a message in it, so that operations on "an id" can find one.
TOKEN="$(curl -fsS -X POST "$BASE/api/v1/auth/signup" -H 'Content-Type: application/json' \
  -d '{"email":"fuzz@example.com","password":"Fuzz-pass-1234"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
CONVERSATION="$(curl -fsS -X POST "$BASE/api/v1/conversations" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"title":"Fuzzed"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fsS -X POST "$BASE/api/v1/conversations/$CONVERSATION/messages" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"content":"Hello"}' >/dev/null

fuzz() {
  "$VENV/bin/st" run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --request-timeout 10 --workers 2 "$@"
}
status=0
# Logging out ends the token every other operation runs with, so it gets a short run of its own, last.
fuzz --max-time "$SECONDS_BUDGET" --exclude-path /api/v1/auth/logout || status=$?
fuzz --max-time 10 --include-path /api/v1/auth/logout || status=$?

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
