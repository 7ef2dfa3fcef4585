"""API-token authentication for the staff sockets, beside the session cookie.

A client without a browser session passes its API token (POST /api/v1/auth/token/)
either as a subprotocol, `Sec-WebSocket-Protocol: token.<key>` (kept out of logs), or
as `?token=<key>` in the URL. A session user, when there is one, wins."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

TOKEN_PROTOCOL_PREFIX = "token."  # noqa: S105 (a prefix, not a secret)


def token_from_scope(scope) -> str | None:
    for protocol in scope.get("subprotocols") or ():
        if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
            return protocol[len(TOKEN_PROTOCOL_PREFIX) :]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


@database_sync_to_async
def user_for_token(key: str):
    if not key or len(key) > 64:
        return AnonymousUser()
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware:
    """Sets scope["user"] from an API token when the session gave no user."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key = token_from_scope(scope)
            if key is not None:
                scope = dict(scope, user=await user_for_token(key))
        return await self.inner(scope, receive, send)
