"""A real daphne process on a free loopback port with the Redis channel layer, for socket and
browser tests. Each run gets its own Redis database number, so concurrent test runs on one
machine never hear each other's groups."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from tests.processes import ROOT, database_env, wait_for
from tests.services import need_redis

ASGI_APP = "contact_center.asgi:application"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_redis_url(url: str) -> str:
    parsed = urlparse(url)
    # redis-py 8 times reads out after 5 s by default, the same time channels_redis blocks waiting
    # for a message: an idle socket would die. Until settings pass a longer timeout, the URL does.
    return urlunparse(parsed._replace(path=f"/{1 + os.getpid() % 12}", query="socket_timeout=30"))


class Daphne:
    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v.format(port=self.port) for k, v in env.items()}
        self.log = Path(tempfile.mkstemp(prefix="daphne-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "contact_center.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_for(self._listening, timeout=30, what="daphne to listen")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"daphne exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """Gone at once, as in a crash or a cut cable: no close frames are sent."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        print(self.log.read_text(errors="replace")[-3000:])  # shown by pytest when a test fails
        self.log.unlink(missing_ok=True)


@contextmanager
def daphne(settings, **extra_env):
    """Yields a started Daphne (base URL, env for more child processes on the same database and
    Redis); the test process publishes to that Redis too. `extra_env` values may use "{port}"."""
    redis = private_redis_url(need_redis())
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "frontend.realtime.layers.OneTripRedisChannelLayer",
            "CONFIG": {"hosts": [redis], "expiry": 30},
        }
    }
    server = Daphne(dict(database_env(), REDIS_URL=redis, **extra_env))
    try:
        server.start()
        yield server
    finally:
        server.stop()
