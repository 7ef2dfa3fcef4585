"""Websocket routes of the agent console and supervisor board: /ws/agent/, /ws/supervisor/.

contact_center/asgi.py puts these behind the origin check and the session middleware;
TokenAuthMiddleware adds API-token sign-in for clients without a session."""

from django.urls import re_path

from frontend.realtime.auth import TokenAuthMiddleware
from frontend.realtime.consumers import AgentConsumer, SupervisorConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/agent/$", TokenAuthMiddleware(AgentConsumer.as_asgi())),
    re_path(r"^ws/supervisor/$", TokenAuthMiddleware(SupervisorConsumer.as_asgi())),
]
