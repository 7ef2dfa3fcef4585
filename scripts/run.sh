#!/usr/bin/env bash
# `make run`: migrate, seed the demo (idempotent), then serve HTTP + websockets with
# daphne on 127.0.0.1:$PORT and run the worker beside it, and a demo shop page with the
# chat widget on 127.0.0.1:$DEMO_SITE_PORT (another origin, as a customer's site). Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
DEMO_SITE_PORT=${DEMO_SITE_PORT:-8001}
export PORT DEMO_SITE_PORT

$PY manage.py migrate --no-input -v 0
$PY manage.py seed_demo

mkdir -p var/demo-site
sed "s/{{PORT}}/${PORT}/g" contact_center/demo/shop.html > var/demo-site/index.html
$PY -m http.server "$DEMO_SITE_PORT" --bind 127.0.0.1 --directory var/demo-site >/dev/null 2>&1 &
site=$!

$PY manage.py run_worker &
worker=$!
trap 'kill $worker $site 2>/dev/null; wait $worker $site 2>/dev/null' EXIT INT TERM

echo "  API docs: http://127.0.0.1:${PORT}/api/docs/    Ctrl-C stops the server, the worker and the demo shop."
echo
exec_daphne() { .venv/bin/daphne -b 127.0.0.1 -p "$PORT" --proxy-headers contact_center.asgi:application; }
exec_daphne
