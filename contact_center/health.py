"""Liveness (/healthz) and readiness (/readyz) probes."""

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


async def _channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


def _check_channel_layer() -> str:
    async_to_sync(_channel_layer_round_trip)()
    return "ok"


def _check_search() -> str:
    from knowledge_base.search import search_backend_ready

    return search_backend_ready()


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _check_database, "channel_layer": _check_channel_layer, "search": _check_search}
    results = {}
    ready = True
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as exc:  # a probe reports, it never raises
            ready = False
            results[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    if settings.DEBUG:
        body["database_vendor"] = connection.vendor
    return JsonResponse(body, status=200 if ready else 503)
