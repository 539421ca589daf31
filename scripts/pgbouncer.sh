#!/usr/bin/env bash
# A throwaway PgBouncer in transaction mode for tests, in front of the tests' PostgreSQL.
#   scripts/pgbouncer.sh ensure                  build PgBouncer into the tools folder unless it is there; prints its path
#   scripts/pgbouncer.sh start DIR PORT PG_PORT [ROLE...]
#                                                start it on 127.0.0.1:PORT for every database of 127.0.0.1:PG_PORT
#                                                and the roles named (default: postgres); prints the admin URL through it
#   scripts/pgbouncer.sh stop DIR                stop it and remove DIR
#
# Why built from source: transaction mode carries sqlx's (protocol-level, named) prepared statements only from
# PgBouncer 1.21 on (`max_prepared_statements`); Debian bookworm ships 1.18. The source is Debian's own
# (trixie's pgbouncer 1.24.1 package, from the Debian archive this machine reaches), checked against the
# checksum in that package's .dsc, and built against bookworm's libevent and OpenSSL.
set -euo pipefail

VERSION=1.24.1
SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
SOURCE_URL="http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_${VERSION}.orig.tar.gz"
TOOLS_DIR="${PARLEY_TOOLS_DIR:-$HOME/.cache/parley-tools}"
PREFIX="$TOOLS_DIR/pgbouncer-$VERSION"
BIN="$PREFIX/bin/pgbouncer"

cmd="${1:?usage: ensure | start DIR PORT PG_PORT [ROLE...] | stop DIR}"

# PgBouncer refuses to run as root; as root it runs as the `postgres` user, like the tests' cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  ensure)
    if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
    build="$(mktemp -d /tmp/parley-pgbouncer-build-XXXXXX)"
    trap 'rm -rf "$build"' EXIT
    curl -fsS --max-time 120 -o "$build/source.tar.gz" "$SOURCE_URL"
    echo "$SHA256  $build/source.tar.gz" | sha256sum -c --quiet -
    tar xzf "$build/source.tar.gz" -C "$build"
    (
      cd "$build/pgbouncer-$VERSION"
      ./configure --prefix="$PREFIX" --without-openssl >"$build/configure.log" 2>&1 ||
        { cat "$build/configure.log" >&2; exit 1; }
      make -j"$(nproc)" >"$build/make.log" 2>&1 || { tail -40 "$build/make.log" >&2; exit 1; }
      make install >/dev/null
    )
    echo "$BIN"
    ;;
  start)
    dir="${2:?folder}" port="${3:?port}" pg_port="${4:?PostgreSQL port}"
    shift 4
    [ -x "$BIN" ] || { echo "pgbouncer: not built here; run scripts/pgbouncer.sh ensure (./dev.sh test does)" >&2; exit 1; }
    mkdir -p "$dir"
    # trust: the tests' cluster trusts loopback too; PgBouncer still wants each role listed.
    : >"$dir/users.txt"
    for role in "${@:-postgres}"; do printf '"%s" ""\n' "$role" >>"$dir/users.txt"; done
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
; every database of the tests' cluster, each test's own included, with no list to keep
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
; what hosted poolers set: sqlx's named statements follow the client from one server connection to the next
max_prepared_statements = 200
; the test helpers connect with sqlx's defaults, which send it; Parley itself does not with PARLEY_DB_POOLER
ignore_startup_parameters = extra_float_digits
max_client_conn = 2000
default_pool_size = 10
; many short-lived test databases: let their idle server connections and pools go soon
server_idle_timeout = 5
autodb_idle_timeout = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    # A copy beside its files: the `postgres` user may not reach into root's home.
    cp "$BIN" "$dir/pgbouncer"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
    as_owner "$dir/pgbouncer" -d "$dir/pgbouncer.ini"
    # -d returns once the pid file is written; wait (bounded) until it accepts connections.
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "postgres://postgres@127.0.0.1:$port/postgres"
        exit 0
      fi
      sleep 0.1
    done
    echo "pgbouncer: not listening on 127.0.0.1:$port after 10 s; its log:" >&2
    cat "$dir/pgbouncer.log" >&2 || true
    exit 1
    ;;
  stop)
    dir="${2:?folder}"
    if [ -f "$dir/pgbouncer.pid" ]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
    rm -rf "$dir"
    ;;
  *) echo "pgbouncer: unknown command $cmd" >&2; exit 2 ;;
esac
