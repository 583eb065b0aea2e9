#!/usr/bin/env bash
# A throwaway PostgreSQL server for the distributed tests, on 127.0.0.1 only.
#   ci/postgres.sh start DIR   install if missing (Debian, as root), initdb in DIR, start it,
#                              create role and database; prints the connection URL
#   ci/postgres.sh stop DIR    stop the server and remove DIR
# The server refuses to run as root, so as root it runs as the `postgres` user.
set -euo pipefail
action=${1:?usage: ci/postgres.sh start|stop DIR}
dir=${2:?usage: ci/postgres.sh start|stop DIR}

say() { echo "ci/postgres: $*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { { ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true; } | sort -V | tail -n1; }

case "$action" in
start)
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      say "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
      exit 1
    fi
    say "installing Debian's postgresql package"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >"${TMPDIR:-/tmp}/mobench-apt.log" 2>&1 || {
      say "apt-get install postgresql failed (log: ${TMPDIR:-/tmp}/mobench-apt.log)"; exit 1; }
    bin=$(pg_bin)
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    >"$dir/initdb.log" 2>&1 || { say "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null || {
    say "the server did not start:"; cat "$dir/server.log" >&2; exit 1; }
  psql=(as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  "${psql[@]}" -c "CREATE ROLE mobench LOGIN CREATEDB PASSWORD 'mobench'" >/dev/null
  "${psql[@]}" -c "CREATE DATABASE mobench OWNER mobench" >/dev/null
  echo "postgresql+psycopg://mobench:mobench@127.0.0.1:$port/mobench"
  ;;
stop)
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  say "unknown action $action (start|stop)"; exit 2 ;;
esac
