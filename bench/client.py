"""Timing client: GETs over one keep-alive HTTP connection, latency percentiles.

No Django here: this runs in the benchmark's own process, apart from the server.
"""

from __future__ import annotations

import http.client
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

Getter = Callable[[str], tuple[int, bytes]]
MIN_REQUESTS = 40


class BenchError(RuntimeError):
    pass


class HttpGetter:
    """GET `path` on a server with fixed headers (e.g. the token), reusing one connection."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None, timeout: float = 60):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = {"Accept": "application/json", **(headers or {})}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def __call__(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("GET", path, headers=self.headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def post_json(host: str, port: int, path: str, payload: dict, timeout: float = 60) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        body = json.dumps(payload)
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data or b"{}")
        except ValueError:
            return response.status, {"raw": data[:500].decode(errors="replace")}
    finally:
        conn.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class RunStats:
    requests: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    max_ms: float


@dataclass
class EndpointResult:
    path: str
    label: str
    runs: list[RunStats] = field(default_factory=list)
    total_count: int | None = None  # the API's "count": how many records the user sees
    count_is_exact: bool | None = None  # False: the API counted up to a cap ("more than total_count")
    page_size: int | None = None
    note: str = ""

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.runs) if self.runs else math.nan

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "requests": self.requests,
            "p50_ms": self.median("p50_ms"),
            "p95_ms": self.median("p95_ms"),
            "mean_ms": self.median("mean_ms"),
        }


def _check(path: str, status: int, body: bytes) -> dict:
    if status == 404:
        raise BenchError(f"GET {path} answered 404: is the API route there?")
    if status != 200:
        raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BenchError(f"GET {path} did not answer JSON: {body[:300]!r}") from exc


def measure(
    get: Getter,
    path: str,
    *,
    label: str = "",
    requests: int = 200,
    runs: int = 3,
    warmup: int = 20,
    max_seconds: float = 90,
) -> EndpointResult:
    """`warmup` untimed requests, then `runs` runs of `requests` timed GETs each.

    Every response must be a 200 with JSON; the first one's `count` is kept (the
    size of the user's scope). If the time budget runs out, the runs done so far
    are reported (noted in the result).
    """
    result = EndpointResult(path=path, label=label or path)
    status, body = get(path)
    first = _check(path, status, body)
    if isinstance(first, dict):
        result.total_count = first.get("count")
        result.count_is_exact = first.get("count_is_exact")
        result.page_size = len(first.get("results", []) or [])
    warm: list[float] = []
    for _ in range(max(0, warmup - 1)):
        t0 = time.perf_counter()
        _check(path, *get(path))
        warm.append(time.perf_counter() - t0)
    # A slow endpoint gets fewer requests per run (at least MIN_REQUESTS), so that all
    # runs fit in the time budget.
    if warm:
        affordable = int(max_seconds / runs / statistics.fmean(warm) * 0.9)
        if affordable < requests:
            requests = max(MIN_REQUESTS, affordable)
            result.note = f"{requests} requests per run to fit the time budget"
    started = time.monotonic()
    hard_limit = max_seconds * 1.5  # the estimate from the warm-up may be off
    for run in range(runs):
        samples: list[float] = []
        for _ in range(requests):
            t0 = time.perf_counter()
            status, body = get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                _check(path, status, body)
            if time.monotonic() - started > hard_limit:
                break
        samples.sort()
        result.runs.append(
            RunStats(
                requests=len(samples),
                p50_ms=statistics.median(samples),
                p95_ms=percentile(samples, 0.95),
                mean_ms=statistics.fmean(samples),
                max_ms=samples[-1],
            )
        )
        if time.monotonic() - started > hard_limit:
            if run + 1 < runs:
                result.note = f"time budget ({hard_limit:.0f} s) reached after {run + 1} of {runs} runs"
            break
    return result
