#!/usr/bin/env bash
# Runs inside the development root (see enter). MODE: run | test | shell | exec | bench | i18n |
# lint | lock | python | noop. The checkout is at the same path as on the host; the virtualenv is
# /opt/venv, rebuilt when requirements-dev.lock changes.
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
  # Keyed by the development lock file: every package pinned with its hashes (make lock).
  local want; want=$(sha256sum requirements-dev.lock | cut -c1-16)
  [ "$(cat /opt/venv/.stamp 2>/dev/null)" = "$want" ] && return 0
  (
    flock 9
    [ "$(cat /opt/venv/.stamp 2>/dev/null)" = "$want" ] && exit 0
    echo "devroot: installing Python packages (requirements-dev.lock changed)" >&2
    rm -rf /opt/venv.new
    python3 -m venv /opt/venv.new
    /opt/venv.new/bin/pip install -q --require-hashes --no-deps -r requirements-dev.lock >&2
    echo "$want" >/opt/venv.new/.stamp
    rm -rf /opt/venv && mv /opt/venv.new /opt/venv
    # venvs record their own path; this one was built at /opt/venv.new.
    sed -i 's#/opt/venv.new#/opt/venv#g' /opt/venv/bin/* /opt/venv/pyvenv.cfg 2>/dev/null || true
  ) 9>/opt/.venv.lock
  printf '#!/bin/sh\nexec python -m app.cli "$@"\n' >/usr/local/bin/domestique
  chmod +x /usr/local/bin/domestique
}

# The lock files from pyproject.toml: the image's (runtime) and the development root's (runtime
# and dev), each for every platform (--universal) with the hashes of every file on PyPI.
lock() {
  local common=(--universal --python-version 3.13 --generate-hashes --custom-compile-command "make lock" -q)
  # The build backend (pyproject's build-system) too: the image builds the package offline.
  mkdir -p /tmp/lock && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']))" >/tmp/lock/build-system.in
  uv pip compile pyproject.toml /tmp/lock/build-system.in "${common[@]}" ${UPGRADE:+--upgrade} -o requirements.lock
  uv pip compile pyproject.toml /tmp/lock/build-system.in --extra dev "${common[@]}" ${UPGRADE:+--upgrade} -o requirements-dev.lock
  echo "lock: requirements.lock and requirements-dev.lock written; review with git diff" >&2
}

# pip-audit of both lock files against PyPI's vulnerability service. A known vulnerability fails
# (exit 1). When the service cannot be reached the audit says so and does not fail the lint:
# the lint is about our code, and a network outage in CI must not turn it red (the next run
# with the network audits again); AUDIT_REQUIRED=1 makes that a failure too.
audit() {
  local out rc=0
  out=$(mktemp)
  pip-audit --disable-pip --require-hashes --progress-spinner off --vulnerability-service pypi \
    -r requirements-dev.lock >"$out" 2>&1 || rc=$?
  local skipped; skipped=$(grep -c "could not be audited" "$out" || true)
  if [ "$rc" = 0 ] && [ "$skipped" = 0 ]; then
    echo "pip-audit: no known vulnerabilities in requirements-dev.lock (which includes requirements.lock)"
    return 0
  fi
  if [ "$rc" = 0 ]; then  # pip-audit passes what it could not look up: we do not
    echo "pip-audit: NOT AUDITED — $skipped locked packages could not be looked up at PyPI's" \
      "vulnerability service (its JSON API answered 'not found': a mirror without it?)" >&2
    grep -m 3 "could not be audited" "$out" >&2
    [ "${AUDIT_REQUIRED:-}" = 1 ] && return 1
    return 0
  fi
  if grep -qiE "connection|timed? ?out|resolve|proxy|ssl|network|max retries|temporary failure" "$out" \
     && ! grep -qE "^Found [0-9]+ known vulnerabilit" "$out"; then
    echo "pip-audit: NOT AUDITED — PyPI's vulnerability service could not be reached:" >&2
    grep -iE "error|connection" "$out" | tail -n 3 >&2
    [ "${AUDIT_REQUIRED:-}" = 1 ] && return 1
    return 0
  fi
  cat "$out" >&2
  echo "pip-audit: known vulnerabilities above; update the package (README, Development: make lock UPGRADE=1)" >&2
  return 1
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
    ruff check . && ruff format --check . && audit ;;
  lock)
    ensure_venv
    lock ;;
  python)
    ensure_venv
    python "$@" ;;
  *) echo "devroot: unknown mode $mode" >&2; exit 2 ;;
esac
