#!/usr/bin/env bash
# `make run`: migrate, seed the demo (idempotent), then serve HTTP + websockets with
# daphne on 127.0.0.1:$PORT and run the worker beside it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}

$PY manage.py migrate --no-input -v 0
$PY manage.py seed_demo

$PY manage.py run_worker &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo "  API docs: http://127.0.0.1:${PORT}/api/docs/    Ctrl-C stops the server and the worker."
echo
exec_daphne() { .venv/bin/daphne -b 127.0.0.1 -p "$PORT" --proxy-headers contact_center.asgi:application; }
exec_daphne
