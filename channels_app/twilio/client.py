"""The real `twilio` REST client for a line. `TWILIO_API_BASE_URL` points every Twilio
API host (api.twilio.com, …) at another server: a local fake in tests and demos."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from contact_center.env import env_str

REST_TIMEOUT = 10


def public_base_url(line=None) -> str:
    """The address Twilio reaches this server at (the line's, else the server's), without a trailing slash."""
    return ((line.public_base_url if line is not None else "") or env_str("TWILIO_PUBLIC_BASE_URL")).rstrip("/")


def api_base_url() -> str:
    return env_str("TWILIO_API_BASE_URL").rstrip("/")


class RedirectingHttpClient(TwilioHttpClient):
    """Sends what the library addresses to https://<product>.twilio.com to `base` instead."""

    def __init__(self, base: str, **kwargs):
        super().__init__(**kwargs)
        self.base = urlsplit(base)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith(".twilio.com"):
            url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


def line_client(line) -> Client:
    base = api_base_url()
    http_client = RedirectingHttpClient(base, timeout=REST_TIMEOUT) if base else TwilioHttpClient(timeout=REST_TIMEOUT)
    return Client(line.account_sid, line.auth_token, http_client=http_client)
