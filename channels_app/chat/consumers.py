"""The visitor's socket: /ws/chat/<widget_key>/. Frames are documented in docs/websocket-chat.md.

Served outside the staff middleware (the widget runs on customers' sites): this consumer
checks the Origin against the widget's allowed origins and authenticates the visitor by
their signed token. No frame, however malformed, closes the socket."""

from __future__ import annotations

import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import override

from channels_app.chat import limits, selectors, services
from channels_app.chat.lines import ChatLine, line_committer
from channels_app.chat.models import ChatVisitor, ChatWidget
from channels_app.chat.origins import origin_allowed
from channels_app.chat.receivers import chat_group, widget_group
from channels_app.chat.tokens import visitor_token_issue, visitor_token_read
from frontend.realtime.dispatch import NoConnectionHopDispatch

logger = logging.getLogger("channels_app.chat")

MAX_FRAME_BYTES = 16 * 1024
TYPING_EVERY = 2.0  # seconds between typing notices sent to agents
SUGGEST_EVERY = 1.0


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _language(value) -> str:
    return "zh-hans" if str(value or "").lower().startswith("zh") else "en"


class ChatConsumer(NoConnectionHopDispatch, AsyncWebsocketConsumer):
    widget: ChatWidget | None = None
    visitor: ChatVisitor | None = None
    ticket_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None

    async def connect(self):
        key = self.scope["url_route"]["kwargs"].get("widget_key", "")
        self.widget = await database_sync_to_async(
            lambda: (
                ChatWidget.objects.select_related("queue", "queue__calendar", "calendar")
                .filter(key=key, active=True)
                .first()
            )
        )()
        origin = _header(self.scope, b"origin")
        if self.widget is None or not origin_allowed(origin, self.widget.allowed_origins):
            logger.info("Chat socket refused: widget %r, origin %r", key, origin)
            await self.close(code=4403)
            return
        self.address = (self.scope.get("client") or ["?"])[0] or "?"
        self.language = "en"
        self.frames = limits.connection_bucket()
        self.last_typing = 0.0
        self.last_suggest = 0.0
        self.groups_joined: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_frame({"type": "error", "code": code, "message": message, **extra})

    # Incoming frames --------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        with override(self.language):
            if bytes_data is not None:
                await self.send_error("bad_frame", _("Frames are JSON text."))
                return
            if len((text_data or "").encode("utf-8")) > MAX_FRAME_BYTES:
                await self.send_error(
                    "frame_too_large", _("A frame may be at most %(kb)s KB.") % {"kb": MAX_FRAME_BYTES // 1024}
                )
                return
            if not self.frames.take():
                await self.send_error("rate_limited", _("Too many frames; slow down."), retry_after=2)
                return
            try:
                frame = json.loads(text_data or "")
            except ValueError:
                frame = None
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                await self.send_error("bad_frame", _("Each frame is a JSON object with a type."))
                return
            handler = self.HANDLERS.get(frame["type"])
            if handler is None:
                await self.send_error(
                    "unknown_type", _("Unknown frame type “%(type)s”.") % {"type": frame["type"][:40]}
                )
                return
            if self.visitor is None and frame["type"] not in {"hello", "ping"}:
                await self.send_error("hello_first", _("Send a hello frame first."))
                return
            try:
                await handler(self, frame)
            except ValidationError as exc:
                errors = getattr(exc, "message_dict", None) or {"__all__": exc.messages}
                first = next(iter(errors.values()))[0] if errors else _("Invalid input.")
                await self.send_error("invalid", first, errors=errors, client_id=_client_id_of(frame))
            except Exception:
                logger.exception("Chat frame %s failed", frame.get("type"))
                await self.send_error(
                    "server_error", _("Something went wrong; please try again."), client_id=_client_id_of(frame)
                )

    async def on_ping(self, frame):
        await self.send_frame({"type": "pong"})

    async def on_hello(self, frame):
        self.language = _language(frame.get("language"))
        token = frame.get("token")
        visitor_id = visitor_token_read(token, widget_key=self.widget.key) if token else None
        if self.visitor is not None and self.visitor.visitor_id != visitor_id:
            await self.send_error("hello_once", _("This socket already belongs to a visitor."))
            return
        welcome = await database_sync_to_async(self._welcome, thread_sensitive=False)(visitor_id)
        if self.visitor.ticket_id:
            await self._follow_ticket(self.visitor.ticket_id)
        await self._join(widget_group(self.widget.pk))
        await self.send_frame(welcome)

    def _welcome(self, visitor_id: str | None) -> dict:
        with override(self.language):
            self.visitor = services.chat_visitor_resolve(
                widget=self.widget, visitor_id=visitor_id, language=self.language
            )
            self.visitor.widget = self.widget
            ticket = selectors.visitor_current_ticket(self.visitor)
            availability = selectors.widget_availability(self.widget)
            conversation = None
            if ticket is not None:
                self.team_id, self.assignee_id = ticket.team_id, ticket.assignee_id
                conversation = {
                    "number": ticket.number,
                    "status": ticket.status,
                    "agent": selectors.agent_name(ticket.assignee),
                    "ended": ticket.status in selectors.ENDED_STATUSES,
                    "history": selectors.conversation_history(ticket),
                    "queue": selectors.queue_position(ticket),
                }
            else:
                self.visitor.ticket_id = None
            return {
                "type": "welcome",
                "token": visitor_token_issue(widget_key=self.widget.key, visitor_id=self.visitor.visitor_id),
                "visitor": {"name": self.visitor.name, "email": self.visitor.email, "phone": self.visitor.phone},
                "open": availability.open,
                "reason": availability.reason,
                "conversation": conversation,
            }

    async def _follow_ticket(self, ticket_id: int) -> None:
        if self.ticket_id != ticket_id:
            if self.ticket_id is not None:
                await self.channel_layer.group_discard(chat_group(self.ticket_id), self.channel_name)
                self.groups_joined.discard(chat_group(self.ticket_id))
            self.ticket_id = ticket_id
        await self._join(chat_group(ticket_id))

    async def on_message(self, frame):
        client_id = _client_id_of(frame)
        if not limits.message_allowed(visitor_key=self.visitor.address, address=self.address):
            await self.send_error(
                "rate_limited",
                _("You are sending messages too fast; it will be sent shortly."),
                client_id=client_id,
                retry_after=2,
            )
            return
        text = frame.get("text", "")
        attachments = frame.get("attachments") or []
        if not isinstance(text, str):
            raise ValidationError({"text": [_("The text must be a string.")]})
        # Stored with the lines of other visitors that arrive meanwhile, in one transaction (see lines.py).
        stored = await line_committer().store(
            ChatLine(
                visitor=self.visitor, client_id=client_id, text=text, attachments=attachments, language=self.language
            )
        )
        self.team_id, self.assignee_id = stored.ticket.team_id, stored.ticket.assignee_id
        await self._follow_ticket(stored.ticket.pk)
        await self.send_frame(
            {
                "type": "ack",
                "client_id": client_id,
                "id": stored.message.pk,
                "at": stored.message.created_at.isoformat(),
                "duplicate": not stored.created,
                "message": stored.frame,
            }
        )
        if stored.queue is not None:
            await self.send_frame({"type": "queue", **stored.queue})

    async def on_typing(self, frame):
        now = time.monotonic()
        text = frame.get("text") if isinstance(frame.get("text"), str) else ""
        if self.ticket_id is None:
            if text and now - self.last_suggest >= SUGGEST_EVERY:
                self.last_suggest = now
                articles = await database_sync_to_async(selectors.article_suggestions)(text[:200], self.language, 3)
                await self.send_frame({"type": "suggestions", "query": text[:200], "articles": articles})
            return
        if now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        target = f"agent.{self.assignee_id}" if self.assignee_id else (f"team.{self.team_id}" if self.team_id else None)
        if target:
            await self.channel_layer.group_send(
                target, {"type": "ticket.typing", "ticket": self.ticket_id, "who": "visitor"}
            )

    async def on_profile(self, frame):
        values = {
            name: frame.get(name) if isinstance(frame.get(name), str) else "" for name in ("name", "email", "phone")
        }
        await database_sync_to_async(services.chat_visitor_profile_set)(visitor=self.visitor, **values)
        await self.send_frame({"type": "profile.saved", **{k: getattr(self.visitor, k) for k in values}})

    async def on_transcript(self, frame):
        email = frame.get("email") if isinstance(frame.get("email"), str) else ""
        outbound = await database_sync_to_async(services.chat_transcript_request)(visitor=self.visitor, email=email)
        await self.send_frame({"type": "transcript.queued", "email": outbound.to_address})

    async def on_delivered(self, frame):
        ids = frame.get("ids")
        if self.ticket_id is None or not isinstance(ids, list):
            return
        ids = [value for value in ids[:200] if isinstance(value, int)]
        ticket_id = self.ticket_id
        await database_sync_to_async(
            lambda: services.chat_message_delivered(message_ids=ids, ticket=selectors.Ticket(pk=ticket_id))
        )()

    HANDLERS = {
        "hello": on_hello,
        "ping": on_ping,
        "message": on_message,
        "typing": on_typing,
        "profile": on_profile,
        "transcript": on_transcript,
        "delivered": on_delivered,
    }

    # Channel-layer events -----------------------------------------------------------------

    async def chat_frame(self, event):
        frame = event.get("frame") or {}
        if frame.get("type") == "agent.joined":
            self.assignee_id = await database_sync_to_async(self._assignee)()
        await self.send_frame(frame)

    def _assignee(self):
        return selectors.Ticket.objects.filter(pk=self.ticket_id).values_list("assignee_id", flat=True).first()

    async def ticket_typing(self, event):
        if event.get("who") == "agent" and event.get("ticket") == self.ticket_id:
            await self.send_frame({"type": "typing", "who": "agent", "name": str(event.get("name", ""))[:100]})

    async def ticket_event(self, event):
        pass  # staff events never reach visitors; present so a stray one cannot break the socket

    async def chat_availability(self, event):
        availability = await database_sync_to_async(selectors.widget_availability)(self.widget)
        await self.send_frame({"type": "availability", "open": availability.open, "reason": availability.reason})


def _client_id_of(frame: dict) -> str:
    value = frame.get("client_id")
    return value[:64] if isinstance(value, str) else ""
