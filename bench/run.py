"""`make bench`: latency of the scoped list endpoints on a large data set.

For each database (SQLite, the embedded default; PostgreSQL, the production
shape) the benchmark creates an empty database, migrates it, bulk-loads 100,000
tickets and 50,000 customers (bench/loader.py), serves the project with daphne on
a free loopback port (DEBUG off), and from this process times page 1 of
`GET /api/v1/tickets/` and `GET /api/v1/customers/` with an API token, for an
agent (own scope: team queue + assigned) and a supervisor (all records). It then
records where a request's time goes (queries and plans) and drops the database.

Environment:
  BENCH_QUICK=1          small smoke run (2,000 tickets, 1,000 customers, few requests); writes nothing
  BENCH_DATABASES        comma-separated: sqlite,postgresql (default: both; PostgreSQL skipped if unreachable)
  BENCH_POSTGRES_URL     server to create the throwaway database on (default postgres://postgres@127.0.0.1:5432/)
  BENCH_TICKETS, BENCH_CUSTOMERS, BENCH_REQUESTS, BENCH_RUNS   override the sizes
  BENCH_WRITE=0/1        write docs/benchmarks.md (default: 1, or 0 with BENCH_QUICK)
  BENCH_SQLITE_ANALYZE=1 run ANALYZE on the SQLite database after loading (the product never does)
  BENCH_JSON, BENCH_MARKDOWN   also write the raw results / the section to these files
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import client, report, server

NAME = "api-list"
TARGET_P95_MS = 50.0
ENDPOINTS = [("tickets", "/api/v1/tickets/"), ("customers", "/api/v1/customers/")]


@dataclass
class Config:
    quick: bool
    tickets: int
    customers: int
    requests: int
    runs: int
    warmup: int
    databases: list[str]
    postgres_url: str
    write: bool
    max_seconds_per_endpoint: float = 50


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def config_from_env() -> Config:
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0", "false"}
    databases = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"BENCH_DATABASES: unknown {', '.join(sorted(unknown))} (use sqlite, postgresql)")
    return Config(
        quick=quick,
        tickets=_int("BENCH_TICKETS", 2_000 if quick else 100_000),
        customers=_int("BENCH_CUSTOMERS", 1_000 if quick else 50_000),
        requests=_int("BENCH_REQUESTS", 30 if quick else 200),
        runs=_int("BENCH_RUNS", 1 if quick else 3),
        warmup=5 if quick else 20,
        databases=databases,
        postgres_url=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
        write=os.environ.get("BENCH_WRITE", "0" if quick else "1") not in {"", "0", "false"},
    )


def say(message: str) -> None:
    print(message, flush=True)


def run_pass(kind: str, cfg: Config) -> dict:
    """One database: create, migrate, load, serve, measure, explain, drop."""
    with server.database(kind, cfg.postgres_url) as env:
        started = time.monotonic()
        server.run_python(["manage.py", "migrate", "--no-input", "-v", "0"], env)
        migrate_s = time.monotonic() - started
        say(f"  migrated in {migrate_s:.1f} s; loading {cfg.tickets:,} tickets and {cfg.customers:,} customers…")
        loaded = json.loads(
            server.run_python(
                ["-m", "bench.loader", "--tickets", str(cfg.tickets), "--customers", str(cfg.customers)], env
            )
        )
        say(f"  loaded in {loaded['seconds']:.1f} s: {loaded['counts']}")
        say(f"  scope: {loaded['scope']}")
        users = loaded["users"]
        results = []
        log_path = Path(env["VAR_DIR"]) / "daphne.log"
        with server.daphne(env, log_path=log_path) as port:
            for role in ("agent", "supervisor"):
                username = users[role]
                status, data = client.post_json(
                    server.HOST, port, "/api/v1/auth/token/", {"username": username, "password": users["password"]}
                )
                if status != 200 or "token" not in data:
                    raise client.BenchError(f"no token for {username}: {status} {data}")
                get = client.HttpGetter(server.HOST, port, {"Authorization": f"Token {data['token']}"})
                try:
                    for endpoint, path in ENDPOINTS:
                        result = client.measure(
                            get,
                            path,
                            label=endpoint,
                            requests=cfg.requests,
                            runs=cfg.runs,
                            warmup=cfg.warmup,
                            max_seconds=cfg.max_seconds_per_endpoint,
                        )
                        row = {"database": kind, "role": role, "user": username, "endpoint": endpoint}
                        row.update(result.as_dict())
                        results.append(row)
                        say(
                            f"  {role:<10} {endpoint:<9} count {_visible(row):>8}  "
                            f"p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  mean {row['mean_ms']:6.1f} ms"
                            f"  ({result.requests} requests{'; ' + result.note if result.note else ''})"
                        )
                finally:
                    get.close()
        explain = json.loads(
            server.run_python(["-m", "bench.explain", "--user", users["agent"], *[p for _, p in ENDPOINTS]], env)
        )
    return {"database": kind, "migrate_s": migrate_s, "loaded": loaded, "results": results, "explain": explain}


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def render(passes: list[dict], skipped: dict[str, str], cfg: Config, machine: dict[str, str]) -> str:
    lines = [
        "## API list latency: page 1 of the scoped ticket and customer lists",
        "",
        "Command: `make bench` (scripts/bench.sh → `python -m bench.run`).  ",
        f"Date: {report.now_line()}.  ",
        f"Machine: {report.machine_line(machine)}.",
        "",
        "What is measured: `GET /api/v1/tickets/` and `GET /api/v1/customers/` (page 1, 25 per page, default "
        "ordering by last update, `Authorization: Token …`) served by daphne — one process, DEBUG off, the "
        "production settings — on a free loopback port; the client is the benchmark's own process, one "
        f"keep-alive connection, {cfg.warmup} warm-up requests, then {cfg.runs} runs × {cfg.requests} requests "
        "per endpoint and user. Figures are medians over the runs of each run's p50 / p95 / mean. "
        f"Target: p95 under {TARGET_P95_MS:.0f} ms.",
        "",
    ]
    for done in passes:
        loaded = done["loaded"]
        counts = loaded["counts"]
        lines.append(
            f"Data ({done['database']}): {counts['tickets']:,} tickets, {counts['customers']:,} customers, "
            f"{counts['companies']:,} companies, {counts['identities']:,} identities, {counts['messages']:,} "
            f"messages; migrated in {done['migrate_s']:.0f} s, bulk-loaded in {loaded['seconds']:.0f} s."
        )
    if passes:
        scope = passes[0]["loaded"]["scope"]
        lines += [
            "",
            f"Scope shape: `bench_agent` (Agent role, own scope, member of 1 of 5 teams) sees "
            f"{scope['agent_tickets']:,} tickets ({scope['agent_tickets_team_queue']:,} in the team's queue, "
            f"{scope['agent_tickets_assigned']:,} assigned to them, some in other teams' queues) and "
            f"{scope['agent_customers']:,} customers (those of the tickets they work, plus shares); "
            f"`bench_supervisor` sees all {scope['supervisor_tickets']:,} tickets and "
            f"{scope['supervisor_customers']:,} customers.",
        ]
    lines.append("")
    rows = []
    for done in passes:
        for r in done["results"]:
            ok = "yes" if r["p95_ms"] < TARGET_P95_MS else "**no**"
            rows.append(
                [
                    r["database"],
                    f"{r['role']} (`{r['user']}`)",
                    f"`{dict(ENDPOINTS)[r['endpoint']]}`",
                    _visible(r),
                    _fmt(r["p50_ms"]),
                    _fmt(r["p95_ms"]),
                    _fmt(r["mean_ms"]),
                    str(r["requests"]) + (f" ({r['note']})" if r["note"] else ""),
                    ok,
                ]
            )
    lines.append(
        report.table(
            ["database", "user", "endpoint", "API count", "p50 ms", "p95 ms", "mean ms", "requests", "p95 < 50 ms"],
            rows,
        )
    )
    for kind, reason in skipped.items():
        lines += ["", f"{kind}: not run — {reason}."]
    lines += ["", "### Where the time goes (bench_agent, server side, warm, via the test client)", ""]
    rows = []
    for done in passes:
        for path, info in done["explain"].items():
            if info.get("status") != 200:
                rows.append([done["database"], f"`{path}`", f"status {info.get('status')}", "", "", ""])
                continue
            slowest = max(info["queries"], key=lambda q: q["ms"]) if info["queries"] else {"ms": 0, "sql": ""}
            rows.append(
                [
                    done["database"],
                    f"`{path}`",
                    _fmt(info["total_ms"]),
                    str(len(info["queries"])),
                    _fmt(info["sql_ms"]),
                    f"{_fmt(slowest['ms'])}: `{_shorten(slowest['sql'])}`",
                ]
            )
    lines.append(report.table(["database", "endpoint", "request ms", "queries", "SQL ms", "slowest query ms"], rows))
    lines += ["", "<details><summary>Plans of the slowest queries</summary>", ""]
    for done in passes:
        for path, info in done["explain"].items():
            for plan in info.get("plans", []):
                lines += [
                    f"**{done['database']} `{path}`** — {_fmt(plan['ms'])} ms:",
                    "",
                    "```sql",
                    plan["sql"],
                    "```",
                    "```",
                    plan["plan"],
                    "```",
                    "",
                ]
    lines += ["</details>", ""]
    return "\n".join(lines)


def _visible(row: dict) -> str:
    """The API's count: exact, or "> N" when the API stopped counting at its cap."""
    if row.get("total_count") is None:
        return "?"
    return f"{'> ' if row.get('count_is_exact') is False else ''}{row['total_count']:,}"


def _shorten(sql: str, limit: int = 90) -> str:
    sql = " ".join(sql.split()).replace("`", "")
    return sql if len(sql) <= limit else sql[: limit - 1] + "…"


def main() -> int:
    cfg = config_from_env()
    started = time.monotonic()
    load_start = report.load_average()
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        say(f"note: the machine is busy (load average {load_start}); figures will be pessimistic")
    say(
        f"bench {NAME}: {cfg.tickets:,} tickets, {cfg.customers:,} customers, "
        f"{cfg.runs} × {cfg.requests} requests per endpoint; databases: {', '.join(cfg.databases)}"
    )
    passes, skipped = [], {}
    for kind in cfg.databases:
        if kind == "postgresql" and not server.postgres_reachable(cfg.postgres_url):
            skipped[kind] = f"PostgreSQL not reachable at {cfg.postgres_url}"
            say(f"{kind}: skipped ({skipped[kind]})")
            continue
        say(f"{kind}:")
        passes.append(run_pass(kind, cfg))
    machine = report.machine(cfg.postgres_url if "postgresql" in cfg.databases else None)
    machine["load_start"] = load_start
    body = render(passes, skipped, cfg, machine)
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps({"passes": passes, "skipped": skipped}, indent=1))
    if os.environ.get("BENCH_MARKDOWN"):
        Path(os.environ["BENCH_MARKDOWN"]).write_text(body)
    if cfg.write:
        path = report.write_section(NAME, body)
        say(f"wrote {path}")
    else:
        say("(not written to docs/benchmarks.md: quick run or BENCH_WRITE=0; BENCH_WRITE=1 to write)")
    slow = [r for p in passes for r in p["results"] if r["p95_ms"] >= TARGET_P95_MS]
    for r in slow:
        say(f"p95 over {TARGET_P95_MS:.0f} ms: {r['database']} {r['role']} {r['endpoint']} ({r['p95_ms']:.1f} ms)")
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
