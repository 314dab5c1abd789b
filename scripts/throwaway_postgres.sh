#!/usr/bin/env bash
# Source this file: it starts a throwaway PostgreSQL cluster (Debian's postgresql, installed if
# missing) in a temp dir on a loopback port, exports PLAYGROUND_TEST_POSTGRES_URL for the store
# tests, and stops and removes the cluster when the sourcing shell exits. Where PostgreSQL cannot be
# installed or started it says so; in CI (CI=true) that fails the run, elsewhere the PostgreSQL tests
# are skipped (the SQLite ones still run). An already set PLAYGROUND_TEST_POSTGRES_URL is used as is.

start_throwaway_postgres() {
  if [ -n "${PLAYGROUND_TEST_POSTGRES_URL:-}" ]; then
    return 0
  fi
  local sudo_if_needed=""
  [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "Installing Debian's postgresql for the store tests..."
    $sudo_if_needed apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq postgresql >/dev/null || true
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    postgres_unavailable "PostgreSQL is not available"
    return
  fi
  PG_THROWAWAY_DIR="$(mktemp -d /tmp/playground-pg.XXXXXX)"
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # initdb refuses to run as root: the cluster belongs to the postgres user (or to us when not root).
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_THROWAWAY_DIR"
    run_as=(runuser -u postgres --)
  fi
  if ! "${run_as[@]}" "$bindir/initdb" -D "$PG_THROWAWAY_DIR/data" -A trust -U postgres -E UTF8 >/dev/null ||
    ! "${run_as[@]}" "$bindir/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -l "$PG_THROWAWAY_DIR/server.log" -w \
      -o "-h 127.0.0.1 -p $port -k $PG_THROWAWAY_DIR -F" start >/dev/null; then
    postgres_unavailable "PostgreSQL did not start (log: $PG_THROWAWAY_DIR/server.log)"
    return
  fi
  PG_THROWAWAY_CTL=("${run_as[@]}" "$bindir/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -m immediate stop)
  trap stop_throwaway_postgres EXIT
  export PLAYGROUND_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  echo "Throwaway PostgreSQL on 127.0.0.1:$port for the store tests."
}

postgres_unavailable() {
  if [ "${CI:-}" = "true" ]; then
    echo "$1: CI runs the store tests on PostgreSQL too, so this run fails." >&2
    return 1
  fi
  echo "$1: the PostgreSQL store tests will be skipped."
}

stop_throwaway_postgres() {
  "${PG_THROWAWAY_CTL[@]}" >/dev/null 2>&1 || true
  rm -rf "$PG_THROWAWAY_DIR"
}
