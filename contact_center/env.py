"""Typed readers for configuration from the environment.

Unset means the embedded default. A variable `NAME_FILE` pointing at a file is
read in place of `NAME`, so secrets can come from Docker/Kubernetes secret files.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or empty gives `default`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name)
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def persistent_secret(path: Path, make) -> str:
    """Read a generated secret from `path`, creating it (mode 0600) on first use.

    Used only by the embedded default, so a demo keeps its sessions and its
    encrypted fields readable across restarts without any configuration.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (web or worker) won the race
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def redis_channel_layer(url: str) -> dict:
    """The channel layer over Redis, as the servers and the worker use it."""
    return {
        "BACKEND": "frontend.realtime.layers.OneTripRedisChannelLayer",
        "CONFIG": {
            # redis-py gives up on a reply after 5 s by default, exactly how long channels_redis
            # blocks waiting for a message: an idle socket would fail. Wait longer than that. But an
            # unreachable Redis must fail a publish quickly, not hold the write that triggered it.
            "hosts": [{"address": url, "socket_timeout": 30, "socket_connect_timeout": 2}],
            # Capacity bounds one Redis list per server process, shared by all its sockets: at 1,000,
            # a burst of chat with 1,000 sockets connected silently dropped live events. Expiry still
            # drops what no process reads for 30 s (a process that died).
            "capacity": 100_000,
            "expiry": 30,
        },
    }
