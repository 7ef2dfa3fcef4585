"""All websocket routes. Each app that serves a socket keeps its patterns in its own module.

`staff_routes` get the session/user (AuthMiddlewareStack) and the allowed-hosts origin
check; `public_routes` (the chat widget, embedded on other sites) get neither and
check origin and visitor token themselves.
"""

from channels_app.chat.routes import websocket_urlpatterns as public_routes
from frontend.realtime.routes import websocket_urlpatterns as staff_routes

__all__ = ["public_routes", "staff_routes"]
