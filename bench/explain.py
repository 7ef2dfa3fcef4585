"""Where a request's time goes: its SQL queries with their durations, and the
plans of the slowest ones (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

Run as `python -m bench.explain --user bench_agent /api/v1/tickets/ …` in a
configured environment; prints JSON. The request goes through Django's test
client in this process (the server-side part only, without HTTP).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.loader import _django_setup

SLOWEST = 2


def _plan(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            depth: dict[int, int] = {0: -1}
            lines = []
            for node, parent, _unused, detail in cursor.fetchall():
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return "\n".join(lines)
    return ""


def explain(username: str, paths: list[str], *, repeat: int = 3) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token.key}")
    report = {}
    for path in paths:
        for _ in range(repeat):  # the last run is warm
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path, secure=True)  # also right behind an HTTPS redirect
                total_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            report[path] = {"status": response.status_code}
            continue
        queries = [{"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]} for q in captured.captured_queries]
        # Plans of the slowest queries that matter (≥ 1 ms); the token lookup is never one of them.
        slowest = [q for q in sorted(queries, key=lambda q: q["ms"], reverse=True)[:SLOWEST] if q["ms"] >= 1]
        report[path] = {
            "status": response.status_code,
            "total_ms": round(total_ms, 2),
            "sql_ms": round(sum(q["ms"] for q in queries), 2),
            "queries": queries,
            "plans": [{"ms": q["ms"], "sql": q["sql"], "plan": _plan(q["sql"])} for q in slowest],
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", required=True)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    _django_setup()
    json.dump(explain(args.user, args.paths), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
