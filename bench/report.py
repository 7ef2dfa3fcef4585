"""The machine a benchmark ran on, and the writer of docs/benchmarks.md.

Each benchmark owns one section of the file, between `<!-- bench:<name>:begin -->`
and `<!-- bench:<name>:end -->`; writing a section replaces only that one.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sqlite3
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Figures written by `make bench` (scripts/bench.sh → `python -m bench.run`), one section per
benchmark, each with the command, the machine and the date it ran. `BENCH_QUICK=1 make bench`
makes a small smoke run that prints its figures and writes nothing here.
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def postgres_version(url: str) -> str:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]
    except Exception:  # only informative
        return "unreachable"


def machine(postgres_url: str | None = None) -> dict[str, str]:
    import django

    info = {
        "nproc": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "ram": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "load": load_average(),
        "load_start": LOAD_AT_START,  # a benchmark may set its own, taken just before it measures
    }
    if postgres_url:
        info["postgresql"] = postgres_version(postgres_url)
    return info


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


LOAD_AT_START = load_average()  # when the benchmark process started


def machine_line(info: dict[str, str]) -> str:
    parts = [
        f"{info['nproc']} CPUs ({info['cpu']})",
        f"{info['ram']} RAM",
        info["os"],
        f"Python {info['python']}",
        f"Django {info['django']}",
        f"SQLite {info['sqlite']}",
    ]
    if "postgresql" in info:
        parts.append(f"PostgreSQL {info['postgresql']}")
    parts.append(f"load average at the start {info.get('load_start', '?')}, at the end {info['load']}")
    return " · ".join(parts)


def now_line() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_section(name: str, body: str, path: Path = DOC) -> Path:
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
