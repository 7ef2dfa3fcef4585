"""Sockets under test: the real ASGI application (origin check, session and token auth)."""

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token

from tests import factories
from tests.services import redis_url

HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def communicator(path: str, user=None, *, headers=(), subprotocols=None) -> WebsocketCommunicator:
    from contact_center.asgi import application

    all_headers = list(HOST) + list(headers)
    if user is not None:
        all_headers.append((b"cookie", f"sessionid={session_cookie(user)}".encode()))
    return WebsocketCommunicator(application, path, headers=all_headers, subprotocols=subprotocols)


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """With Redis, a database of this run's own: other test runs on the machine use the same
    group names (team.1, agent.3) and must not be heard here."""
    if redis_url():
        from tests.realtime.live import private_redis_url

        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "frontend.realtime.layers.OneTripRedisChannelLayer",
                "CONFIG": {"hosts": [private_redis_url(redis_url())], "expiry": 30},
            }
        }


@pytest.fixture
def queues(org):
    return {
        "billing": factories.queue("Billing", team_=org.billing_team, is_default=True),
        "tech": factories.queue("Tech", team_=org.tech_team),
    }
