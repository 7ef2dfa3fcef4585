#!/usr/bin/env bash
# `make bench`: the benchmarks, each writing its own section of docs/benchmarks.md.
# BENCH_QUICK=1 for a small smoke run (prints, writes nothing); BENCH_ONLY=api,email,... to pick.
# See each module's docstring for its knobs (bench/run.py, bench/email.py, bench/routing.py,
# bench/websocket.py, bench/search.py, bench/sla.py).
set -euo pipefail
cd "$(dirname "$0")/.."
only=",${BENCH_ONLY:-api,email,routing,websocket,search,sla},"
declare -A modules=([api]=bench.run [email]=bench.email [routing]=bench.routing [websocket]=bench.websocket [search]=bench.search [sla]=bench.sla)
for name in api email routing websocket search sla; do
    if [[ "$only" == *",$name,"* ]]; then
        echo "== $name (${modules[$name]})"
        .venv/bin/python -m "${modules[$name]}"
    fi
done
