"""A real daphne process serving the project on the test database, with the Redis channel layer."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.test import override_settings

from tests.processes import ROOT, database_env
from tests.services import need_redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def static_collect(env: dict[str, str]) -> None:
    """The console's CSS and JS for a daphne without DEBUG (WhiteNoise serves the collected files)."""
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


@contextmanager
def daphne_server(log_dir: Path, port: int | None = None, *, static: bool = False, **extra_env: str):
    """Yields the port; REDIS_URL is required (the test process and daphne share the channel layer)."""
    redis_url = need_redis()
    env = database_env()
    env["REDIS_URL"] = redis_url
    # This process publishes (agent replies, events) through the same Redis as daphne.
    with (
        override_settings(CHANNEL_LAYERS=_redis_layer(redis_url)),
        _daphne(env, log_dir, port, static=static, **extra_env) as port,
    ):
        yield port


def _redis_layer(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "frontend.realtime.layers.OneTripRedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": 30}], "expiry": 30},
        }
    }


@contextmanager
def _daphne(env: dict, log_dir: Path, port: int | None, *, static: bool, **extra_env: str):
    env.update(extra_env)
    if static:
        static_collect(env)
    port = port or free_port()
    log_path = log_dir / "daphne.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "contact_center.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, process, log_path)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daphne exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"daphne did not answer within {timeout} s:\n{log_path.read_text(errors='replace')[-3000:]}")
