"""Which real services this run has (PostgreSQL, Redis), and the rule that in CI a
missing service fails the test instead of skipping it."""

import os
import socket
from urllib.parse import urlparse

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def need(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a service a test needs is missing."""
    if condition:
        return
    if CI:
        pytest.fail(f"CI=true and {what} is missing: this test must run against the real service.")
    pytest.skip(f"{what} is not available")


def redis_url() -> str:
    """The Redis of this run: REDIS_URL (the PostgreSQL + Redis pass, where it is also the channel
    layer of the settings) or TEST_REDIS_URL (the SQLite pass: the settings keep the embedded
    in-memory layer, and tests of real processes talking through Redis configure it themselves)."""
    return os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", "")


def need_redis() -> str:
    url = redis_url()
    need(bool(url) and _reachable(url, 6379), "Redis (REDIS_URL)")
    return url


def need_postgres() -> None:
    """PostgreSQL-only tests (row-lock races SQLite cannot have) skip in the SQLite pass; the
    PostgreSQL pass runs them, and in CI that pass fails outright when PostgreSQL is missing."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only: runs in the PostgreSQL pass")
