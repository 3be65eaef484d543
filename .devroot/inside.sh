#!/usr/bin/env bash
# Runs inside the development root (see enter). MODE: run | test | shell | exec | bench | i18n |
# lint | python | noop. The checkout is at the same path as on the host; the virtualenv is
# /opt/venv, rebuilt when pyproject.toml changes.
set -euo pipefail
mode=${1:-shell}; shift || true
cd "$CHECKOUT"
export PYTHONPATH=$CHECKOUT PYTHONDONTWRITEBYTECODE=1
export DOMESTIQUE_ENV=${DOMESTIQUE_ENV:-development}
# The tests' marker for "inside the development root": missing ../shared material or Chromium
# fails the run here instead of skipping (tests/support/shared.py).
export DOMESTIQUE_DEVROOT=1
export DOMESTIQUE_CHROMIUM=${DOMESTIQUE_CHROMIUM:-/usr/bin/chromium}
# A trapped signal waits for the foreground command (the server) to finish, then exits through
# the EXIT trap, which stops PostgreSQL.
trap 'exit 143' TERM HUP
trap 'exit 130' INT

ensure_venv() {
  local want; want=$(sha256sum pyproject.toml | cut -c1-16)
  [ "$(cat /opt/venv/.stamp 2>/dev/null)" = "$want" ] && return 0
  (
    flock 9
    [ "$(cat /opt/venv/.stamp 2>/dev/null)" = "$want" ] && exit 0
    echo "devroot: installing Python packages (pyproject.toml changed)" >&2
    rm -rf /opt/venv.new
    python3 -m venv /opt/venv.new
    python3 - >/tmp/requirements.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["dev"]))
PY
    /opt/venv.new/bin/pip install -q -r /tmp/requirements.txt >&2
    echo "$want" >/opt/venv.new/.stamp
    rm -rf /opt/venv && mv /opt/venv.new /opt/venv
    # venvs record their own path; this one was built at /opt/venv.new.
    sed -i 's#/opt/venv.new#/opt/venv#g' /opt/venv/bin/* /opt/venv/pyvenv.cfg 2>/dev/null || true
  ) 9>/opt/.venv.lock
  printf '#!/bin/sh\nexec python -m app.cli "$@"\n' >/usr/local/bin/domestique
  chmod +x /usr/local/bin/domestique
}

# --- the owner's development database: data/postgres, a Unix socket in /run only ---------
PGDATA_DIR=$CHECKOUT/data/postgres
SOCKET_DIR=/run/domestique-pg
pg() { runuser -u postgres -- "$@"; }
start_db() {
  mkdir -p "$CHECKOUT/data" "$SOCKET_DIR"
  exec 8>"$CHECKOUT/data/.postgres.lock"
  if ! flock -w 30 8; then
    echo "devroot: data/postgres is in use by another 'make run', 'make shell' or 'make exec'; stop it first" >&2
    exit 3
  fi
  chown postgres:postgres "$SOCKET_DIR"
  if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
    echo "devroot: creating the database cluster in data/postgres" >&2
    mkdir -p "$PGDATA_DIR" && chown postgres:postgres "$PGDATA_DIR" && chmod 700 "$PGDATA_DIR"
    pg initdb -D "$PGDATA_DIR" -U domestique -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
shared_preload_libraries = 'timescaledb'
listen_addresses = ''
timescaledb.telemetry_level = off
CONF
  fi
  chown -R postgres:postgres "$PGDATA_DIR"
  pg pg_ctl -D "$PGDATA_DIR" -o "-k $SOCKET_DIR" -l "$PGDATA_DIR/server.log" -w start >/dev/null
  psql -h "$SOCKET_DIR" -U domestique -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname='domestique'" \
    | grep -q 1 || createdb -h "$SOCKET_DIR" -U domestique domestique
  export PGHOST=$SOCKET_DIR PGPORT=5432 PGUSER=domestique PGDATABASE=domestique
  export DOMESTIQUE_DATABASE_URL=${DOMESTIQUE_DATABASE_URL:-postgresql+psycopg://domestique@/domestique?host=$SOCKET_DIR}
  export DOMESTIQUE_DATA_DIR=${DOMESTIQUE_DATA_DIR:-$CHECKOUT/data}
  export DOMESTIQUE_BACKUP_DIR=${DOMESTIQUE_BACKUP_DIR:-$CHECKOUT/backups}
  trap stop_db EXIT
}
stop_db() {
  pg pg_ctl -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
}

case $mode in
  noop) ;;
  run)
    ensure_venv; start_db
    # Not exec: the EXIT trap stops PostgreSQL after the server has shut down.
    domestique serve --host 0.0.0.0 --port "${PORT:-8000}" || true ;;
  shell)
    ensure_venv; start_db
    echo "devroot: inside the development root; psql reaches the app's database; exit to leave" >&2
    bash -i || true ;;
  exec)
    ensure_venv; start_db
    bash -c "${CMD:?make exec needs CMD='...'}" ;;
  test)
    ensure_venv
    # shellcheck disable=SC2086
    python -m pytest ${ARGS:-} ;;
  bench)
    ensure_venv
    python -m tests.bench ${ONLY:+--only "$ONLY"} ${SMOKE:+--smoke} ;;
  i18n)
    ensure_venv
    python -m app.i18n_tool ;;
  lint)
    ensure_venv
    ruff check . && ruff format --check . ;;
  python)
    ensure_venv
    python "$@" ;;
  *) echo "devroot: unknown mode $mode" >&2; exit 2 ;;
esac
