#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, never the system service.
#   scripts/pg-test-cluster.sh start DIR PORT   initdb (if DIR is new) and start on 127.0.0.1:PORT; prints the admin URL
#   scripts/pg-test-cluster.sh stop DIR         fast shutdown (open connections are cut, as in an outage)
#   scripts/pg-test-cluster.sh restart DIR      start again after stop, same data
#   scripts/pg-test-cluster.sh remove DIR       stop if running and delete DIR
# initdb refuses to run as root, so as root the cluster belongs to the unprivileged `postgres` user.
set -euo pipefail

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$PG_BIN/initdb" ] || { echo "pg-test-cluster: no PostgreSQL server binaries (install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:?usage: start DIR PORT | stop DIR | restart DIR | remove DIR}"
dir="${2:?cluster folder}"

case "$cmd" in
  start)
    port="${3:?port}"
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
      as_owner "$PG_BIN/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
      # Tests only: no fsync (the cluster is thrown away), room for many parallel test databases.
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
log_min_messages = warning
CONF
    fi
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop) as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null ;;
  restart) as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 start >/dev/null ;;
  remove)
    if [ -f "$dir/postmaster.pid" ]; then as_owner "$PG_BIN/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "pg-test-cluster: unknown command $cmd" >&2; exit 2 ;;
esac
