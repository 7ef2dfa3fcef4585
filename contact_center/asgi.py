"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket routes are collected from the apps' `websocket_urlpatterns` as the
console, supervisor board and chat widget issues add them.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from contact_center.websocket_routes import public_routes, staff_routes  # noqa: E402
from frontend.realtime import direct_writes  # noqa: E402

direct_writes.install()

# Staff sockets (console, supervisor board) accept only our own origin and know the
# signed-in user. The chat widget is embedded on customers' sites: its socket checks
# the origin against each widget's allowed origins and authenticates visitors itself.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [*public_routes, re_path(r"", AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(staff_routes))))]
        ),
    }
)
