#!/usr/bin/env bash
# `make test`: lint, then the whole suite twice — on the embedded default (SQLite,
# in-memory channel layer) and on PostgreSQL + Redis. With CI=true a missing
# PostgreSQL or Redis fails the run; locally that pass is skipped with a notice.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
CI=${CI:-}
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/contact_center}
REDIS=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
status=0

is_ci() { [[ "${CI,,}" == "true" || "$CI" == "1" ]]; }
reachable() { $VENV/bin/python - "$1" <<'PY'
import socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
try:
    socket.create_connection((u.hostname, u.port), timeout=3).close()
except OSError:
    sys.exit(1)
PY
}

echo "== ruff"
$VENV/bin/ruff check . && $VENV/bin/ruff format --check . || status=1

echo "== migrations are up to date"
TESTING=1 VAR_DIR=var/test $VENV/bin/python manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations"; status=1; }

echo "== suite on SQLite (embedded default; tests of real processes talking through Redis use $REDIS)"
if reachable "$REDIS" || is_ci; then
  env -u DATABASE_URL -u REDIS_URL TEST_REDIS_URL=$REDIS $VENV/bin/pytest "$@" || status=1
else
  env -u DATABASE_URL -u REDIS_URL -u TEST_REDIS_URL $VENV/bin/pytest "$@" || status=1
fi

echo "== suite on PostgreSQL ($PG_URL) + Redis ($REDIS)"
if reachable "$PG_URL" && reachable "$REDIS"; then
  DATABASE_URL=$PG_URL REDIS_URL=$REDIS $VENV/bin/pytest "$@" || status=1
elif is_ci; then
  echo "FAILED: CI=true but PostgreSQL ($PG_URL) or Redis ($REDIS) is not reachable"
  status=1
else
  echo "SKIPPED: PostgreSQL or Redis not reachable (set CI=true to make this an error)"
fi

exit $status
