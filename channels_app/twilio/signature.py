"""X-Twilio-Signature checking for the webhooks: the line's auth token signs the public URL
Twilio requested (the configured public base URL + path, so it also works behind a proxy)."""

from __future__ import annotations

import functools
import logging

from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator, get_signature_algorithm

from channels_app.twilio.client import public_base_url
from channels_app.twilio.services import line_for_webhook

logger = logging.getLogger("channels_app.twilio")


def signed_url(request, line) -> str:
    base = public_base_url(line)
    return base + request.get_full_path() if base else request.build_absolute_uri()


def request_is_signed(request, line) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if line is None or not signature or not line.auth_token:
        return False
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings", ""))
    return RequestValidator(line.auth_token).validate(signed_url(request, line), request.POST, signature, algorithm)


def _learn_base_url(request, line) -> None:
    """Without a configured public base URL, the address of the first signed webhook is kept on the line:
    TwiML sent through the REST API (the bridge, made in the worker) needs absolute callback URLs."""
    base = request.build_absolute_uri("/").rstrip("/")
    type(line).objects.filter(pk=line.pk, public_base_url="").update(public_base_url=base)
    line.public_base_url = base


def twilio_webhook(*required: str):
    """Only signed POSTs from Twilio reach the view, as view(request, line); 403 otherwise, before anything
    is stored. A signed request missing a field the view needs gets 400."""

    def decorate(view):
        @csrf_exempt
        @require_POST
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            line = line_for_webhook(request.POST)
            if not request_is_signed(request, line):
                logger.warning("Twilio webhook %s refused: missing or invalid signature", request.path)
                return HttpResponseForbidden("invalid signature")
            if not public_base_url(line):
                _learn_base_url(request, line)
            missing = [name for name in required if not request.POST.get(name)]
            if missing:
                return HttpResponse(f"missing {', '.join(missing)}", status=400, content_type="text/plain")
            return view(request, line, *args, **kwargs)

        return wrapper

    return decorate
