"""Visitor tokens: signed, binding one widget to one visitor id. Kept by the browser in localStorage."""

import secrets

from django.core import signing

SALT = "channels_app.chat.visitor"


def visitor_id_new() -> str:
    return secrets.token_urlsafe(18)


def visitor_token_issue(*, widget_key: str, visitor_id: str) -> str:
    return signing.dumps({"w": widget_key, "v": visitor_id}, salt=SALT, compress=False)


def visitor_token_read(token: str, *, widget_key: str) -> str | None:
    """The visitor id inside a valid token for this widget, else None (forged, altered or another widget's)."""
    if not isinstance(token, str) or not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("w") != widget_key or not isinstance(data.get("v"), str):
        return None
    return data["v"]


FILE_SALT = "channels_app.chat.file"


def file_token_issue(*, attachment_id: int, ticket_id: int) -> str:
    return signing.dumps({"a": attachment_id, "t": ticket_id}, salt=FILE_SALT, compress=False)


def file_token_read(token: str) -> tuple[int, int] | None:
    try:
        data = signing.loads(token, salt=FILE_SALT)
        return int(data["a"]), int(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
