"""The widget's HTTP side: the script, file uploads, the offline message form, file downloads.

Called cross-origin from customers' sites: no cookies, no CSRF token; the visitor's signed
token authenticates, and the Origin must be one of the widget's allowed origins."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from channels_app.chat import services
from channels_app.chat.models import PRECHAT_FIELDS, ChatVisitor, ChatWidget
from channels_app.chat.origins import origin_allowed
from channels_app.chat.strings import widget_strings
from channels_app.chat.tokens import file_token_read, visitor_token_read
from ticketing.models import Attachment

SCRIPT = Path(__file__).resolve().parent / "assets" / "widget.js"
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def widget_config(widget: ChatWidget) -> dict:
    return {
        "key": widget.key,
        "colour": widget.colour,
        "title": {"zh": widget.title_zh, "en": widget.title_en},
        "greeting": {"zh": widget.greeting_zh, "en": widget.greeting_en},
        "fields": [name for name in widget.prechat_fields or [] if name in PRECHAT_FIELDS],
        "max_upload": services.MAX_UPLOAD_BYTES,
        "upload_types": list(services.ALLOWED_UPLOAD_TYPES),
        "max_text": services.MAX_TEXT,
        "strings": {"zh": widget_strings("zh-hans"), "en": widget_strings("en")},
    }


def _json_for_script(value) -> str:
    # Safe inside a <script>-less JS file and in any HTML it might be inlined into.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@require_GET
def widget_script(request, key: str):
    widget = ChatWidget.objects.filter(key=key, active=True).first()
    if widget is None:
        return HttpResponse("/* unknown chat widget */", content_type="text/javascript; charset=utf-8", status=404)
    source = SCRIPT.read_text(encoding="utf-8").replace("__CHAT_CONFIG__", _json_for_script(widget_config(widget)))
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _cors(response, origin: str):
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _visitor_for(request, widget: ChatWidget) -> ChatVisitor | None:
    visitor_id = visitor_token_read(request.POST.get("token", ""), widget_key=widget.key)
    if visitor_id is None:
        return None
    visitor = ChatVisitor.objects.select_related("widget").filter(widget=widget, visitor_id=visitor_id).first()
    return visitor


def _error(origin: str, status: int, detail: str, errors: dict | None = None):
    body = {"detail": detail}
    if errors:
        body["errors"] = errors
    return _cors(JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False}), origin)


def _language(request) -> str:
    return "zh-hans" if request.POST.get("language", "").lower().startswith("zh") else "en"


def _guarded(view):
    """Known widget, allowed origin, valid visitor token; JSON errors in the visitor's language."""

    def wrapper(request, key: str):
        origin = request.headers.get("Origin", "")
        widget = get_object_or_404(ChatWidget, key=key, active=True)
        with override(_language(request)):
            if not origin_allowed(origin, widget.allowed_origins):
                return JsonResponse({"detail": _("This site may not use the chat widget.")}, status=403)
            if request.method == "OPTIONS":
                response = _cors(HttpResponse(status=204), origin)
                response["Access-Control-Allow-Methods"] = "POST"
                response["Access-Control-Max-Age"] = "600"
                return response
            visitor = _visitor_for(request, widget)
            if visitor is None:
                return _error(origin, 401, _("Your chat session has expired; please reload the page."))
            try:
                return _cors(view(request, widget, visitor), origin)
            except ValidationError as exc:
                errors = getattr(exc, "message_dict", None) or {"__all__": exc.messages}
                return _error(origin, 400, next(iter(errors.values()))[0], errors)

    return csrf_exempt(require_http_methods(["POST", "OPTIONS"])(wrapper))


@_guarded
def widget_upload(request, widget: ChatWidget, visitor: ChatVisitor):
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": [_("Choose a file to send.")]})
    if upload.size > services.MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [_("Files may be at most %(mb)s MB.") % {"mb": services.MAX_UPLOAD_BYTES // (1024 * 1024)}]}
        )
    stored = services.chat_upload_store(
        visitor=visitor, filename=upload.name, content_type=upload.content_type or "", data=upload.read()
    )
    return JsonResponse(
        {"upload": stored.pk, "name": stored.filename, "size": stored.size, "content_type": stored.content_type},
        status=201,
    )


@_guarded
def widget_offline_message(request, widget: ChatWidget, visitor: ChatVisitor):
    result = services.chat_offline_message_create(
        widget=widget,
        visitor=visitor,
        client_id=request.POST.get("client_id", ""),
        name=request.POST.get("name", ""),
        email=request.POST.get("email", ""),
        phone=request.POST.get("phone", ""),
        text=request.POST.get("text", ""),
    )
    return JsonResponse({"ticket": result.ticket.number, "duplicate": not result.created}, status=201)


@require_GET
def widget_file(request, token: str):
    """A file of a chat conversation, by a signed link that only the conversation's socket hands out."""
    found = file_token_read(token)
    if found is None:
        raise Http404
    attachment_id, ticket_id = found
    attachment = get_object_or_404(Attachment, pk=attachment_id, message__ticket_id=ticket_id, stored=True)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    inline = attachment.content_type in INLINE_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
