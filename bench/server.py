"""Throwaway databases and a real daphne server on a free loopback port."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path) -> dict[str, str]:
    """The production shape (DEBUG off) with throwaway secrets, on plain HTTP over loopback."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL"}}
    for name in ("SQLITE_PATH", "TESTING", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def postgres_reachable(url: str) -> bool:
    parts = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parts.hostname or HOST, parts.port or 5432), timeout=3).close()
    except OSError:
        return False
    return True


def _pg_admin(url: str, sql: str) -> None:
    import psycopg  # only needed for the PostgreSQL pass

    parts = urllib.parse.urlparse(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def database(kind: str, postgres_url: str) -> Iterator[dict[str, str]]:
    """An empty database for one pass (SQLite file in a temp dir, or a dedicated
    PostgreSQL database); the environment to reach it; dropped afterwards."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"cc-bench-{kind}-"))
    env = base_env(var_dir)
    name = None
    try:
        if kind == "postgresql":
            name = f"cc_bench_{os.getpid()}_{secrets.token_hex(3)}"
            _pg_admin(postgres_url, f'CREATE DATABASE "{name}"')
            parts = urllib.parse.urlparse(postgres_url)
            env["DATABASE_URL"] = parts._replace(path=f"/{name}").geturl()
        yield env
    finally:
        if name:
            _pg_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


def run_python(args: list[str], env: dict[str, str], *, timeout: float = 900) -> str:
    """Run `python <args>` in the project with `env`; its stdout, or a ServerError with its output."""
    completed = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise ServerError(f"{' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return completed.stdout


@contextmanager
def daphne(env: dict[str, str], *, log_path: Path, startup_timeout: float = 60) -> Iterator[int]:
    """daphne serving the project on a free loopback port; yields the port."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0", "contact_center.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, process, startup_timeout, log_path)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(port: int, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"daphne exited ({process.returncode}):\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise ServerError(f"daphne did not answer /healthz within {timeout:.0f} s")
