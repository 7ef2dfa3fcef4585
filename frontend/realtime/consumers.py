"""/ws/agent/ and /ws/supervisor/: ticket events live, replay after a reconnect, and
who else is viewing or typing in a ticket. The frames are documented in docs/websocket.md."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.scope import grant_for
from frontend.realtime import audience
from frontend.realtime.dispatch import NoConnectionHopDispatch
from ticketing.models import Channel, Ticket

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 16 * 1024
SENT_IDS_KEPT = 5000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
ENCODED_FRAME = "_frame_text"  # set on a channel-layer message by the first socket that sends it


def _int_or_none(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 <= number < 2**63 else None


def _json(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _query_after(scope) -> int | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after")
    return _int_or_none(values[0]) if values else None


class TicketEventSocket(NoConnectionHopDispatch, AsyncWebsocketConsumer):
    """What both staff sockets share: auth, frame parsing, resume and de-duplication."""

    role_check = staticmethod(audience.may_use_agent_socket)

    async def connect(self):
        self.user = self.scope.get("user")
        self.groups_joined: list[str] = []
        self.sent_ids: OrderedDict[int, None] = OrderedDict()
        protocol = next((p for p in self.scope.get("subprotocols") or () if p.startswith("token.")), None)
        await self.accept(subprotocol=protocol)
        if self.user is None or not self.user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", "Sign in or pass an API token.")
            return
        if not await database_sync_to_async(self.role_check)(self.user):
            await self._refuse(CLOSE_FORBIDDEN, "forbidden", "Your role may not use this socket.")
            return
        self.grant = await database_sync_to_async(grant_for)(self.user)
        for group in self.groups_for():
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.send_frame({"type": "hello", "user": {"id": self.user.id, "name": str(self.user)}})
        after = _query_after(self.scope)
        if after is not None:
            await self.replay(after)

    async def _refuse(self, code: int, error: str, message: str) -> None:
        self.user = None
        await self.send_frame({"type": "error", "code": error, "message": message})
        await self.close(code=code)

    def groups_for(self) -> list[str]:
        raise NotImplementedError

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=_json(frame))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_frame({"type": "error", "code": code, "message": message, **extra})

    # --- frames from the client -------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        if getattr(self, "user", None) is None:
            return
        if text_data is None:
            await self.send_error("bad_frame", "Send JSON text frames.")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.send_error("too_large", f"Frames are limited to {MAX_FRAME_CHARS} characters.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", "A frame is a JSON object with a string “type”.")
            return
        handler = getattr(self, "frame_" + frame["type"].replace(".", "_"), None)
        if handler is None or not frame["type"].replace(".", "_").isidentifier():
            await self.send_error("unknown_type", "Unknown frame type.", frame_type=frame["type"][:40])
            return
        try:
            await handler(frame)
        except Exception:  # one bad frame must not close the console's socket
            logger.exception("Socket frame %s failed", frame["type"][:40])
            await self.send_error("server_error", "The frame could not be handled.", frame_type=frame["type"][:40])

    async def frame_ping(self, frame: dict) -> None:
        await self.send_frame({"type": "pong"})

    async def frame_resume(self, frame: dict) -> None:
        after = _int_or_none(frame.get("after"))
        if after is None:
            await self.send_error("bad_frame", "“after” must be the id of the last event received (0 or more).")
            return
        await self.replay(after)

    # --- events -----------------------------------------------------------------
    async def replay(self, after: int) -> None:
        """Send the missed events in order. Live events wait in the channel meanwhile (a consumer
        handles one message at a time) and are de-duplicated by id when their turn comes."""
        payloads, complete = await database_sync_to_async(audience.events_missed)(self.user, after)
        if not complete:
            last = await database_sync_to_async(audience.latest_event_id)()
            await self.send_frame({"type": "reload", "reason": "too_many_missed", "last_event": last})
            return
        for payload in payloads:
            await self._send_event(payload)
        await self.send_frame({"type": "replayed", "after": after, "count": len(payloads)})

    async def _send_event(self, payload: dict, message: dict | None = None) -> None:
        event_id = payload.get("id")
        if event_id in self.sent_ids:
            return
        self.sent_ids[event_id] = None
        while len(self.sent_ids) > SENT_IDS_KEPT:
            self.sent_ids.popitem(last=False)
        # The channel layer hands one message to all of this process's sockets in the group: encoded once.
        text = message.get(ENCODED_FRAME) if message is not None else None
        if text is None:
            text = _json({"type": "event", "id": event_id, "event": payload})
            if message is not None:
                message[ENCODED_FRAME] = text
        await self.send(text_data=text)

    async def event_allowed(self, payload: dict) -> bool:
        return True

    async def ticket_event(self, message: dict) -> None:
        if getattr(self, "user", None) is None:
            return
        payload = message.get("event")
        if not isinstance(payload, dict) or payload.get("id") in self.sent_ids:
            return
        if await self.event_allowed(payload):
            await self._send_event(payload, message)


class AgentConsumer(TicketEventSocket):
    """One agent: events of tickets in their scope and offers addressed to them; collision hints."""

    def groups_for(self) -> list[str]:
        self.viewing: int | None = None
        self.visible_tickets: dict[int, bool] = {}
        return [f"agent.{self.user.id}", *(f"team.{team_id}" for team_id in sorted(self.grant.team_ids))]

    async def event_allowed(self, payload: dict) -> bool:
        if audience.event_obviously_visible(self.grant, payload):
            return True
        return await database_sync_to_async(audience.ticket_visible)(self.user, (payload.get("ticket") or {}).get("id"))

    async def _may_see(self, ticket_id: int) -> bool:
        if ticket_id not in self.visible_tickets:
            self.visible_tickets[ticket_id] = await database_sync_to_async(audience.ticket_visible)(
                self.user, ticket_id
            )
        return self.visible_tickets[ticket_id]

    async def _ticket_from(self, frame: dict, *, allow_none: bool = False) -> int | None:
        ticket_id = frame.get("ticket")
        if ticket_id is None and allow_none:
            return None
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not await self._may_see(ticket_id):
            await self.send_error("not_found", "No such ticket in your scope.", frame_type=frame["type"])
            return -1
        return ticket_id

    def _who(self) -> dict:
        return {"id": self.user.id, "name": str(self.user)}

    async def frame_viewing(self, frame: dict) -> None:
        """{"type": "viewing", "ticket": id | null}: the agent opened (or closed) a ticket."""
        ticket_id = await self._ticket_from(frame, allow_none=True)
        if ticket_id == -1:
            return
        await self._leave_viewed()
        if ticket_id is not None:
            self.viewing = ticket_id
            await self.channel_layer.group_add(f"ticket.{ticket_id}", self.channel_name)
            await self._collision(ticket_id, "viewing", True)

    async def _leave_viewed(self) -> None:
        previous = getattr(self, "viewing", None)
        if previous is not None:
            await self._collision(previous, "viewing", False)
            await self.channel_layer.group_discard(f"ticket.{previous}", self.channel_name)
            self.viewing = None

    async def frame_typing(self, frame: dict) -> None:
        ticket_id = await self._ticket_from(frame)
        if ticket_id == -1:
            return
        await self._collision(ticket_id, "typing", True)
        channel = await database_sync_to_async(
            lambda: Ticket.objects.filter(pk=ticket_id).values_list("channel", flat=True).first()
        )()
        if channel == Channel.CHAT:
            await self.channel_layer.group_send(
                f"chat.{ticket_id}",
                {"type": "ticket.typing", "ticket": ticket_id, "who": "agent", "name": self._who()["name"]},
            )

    async def _collision(self, ticket_id: int, what: str, active: bool) -> None:
        await self.channel_layer.group_send(
            f"ticket.{ticket_id}",
            {
                "type": "ticket.collision",
                "ticket": ticket_id,
                "what": what,
                "active": active,
                "user": self._who(),
                "sender": self.channel_name,
            },
        )

    async def ticket_collision(self, message: dict) -> None:
        if getattr(self, "user", None) is None or message.get("sender") == self.channel_name:
            return
        if message.get("ticket") != getattr(self, "viewing", None):
            return
        reply_to = message.get("reply_to")
        if reply_to is not None and reply_to != self.channel_name:
            return
        if reply_to is None and message.get("what") == "viewing" and message.get("active"):
            # Someone opened the ticket: tell them (only them) that we are here too.
            await self.channel_layer.group_send(
                f"ticket.{message['ticket']}",
                {
                    "type": "ticket.collision",
                    "ticket": message["ticket"],
                    "what": "viewing",
                    "active": True,
                    "user": self._who(),
                    "sender": self.channel_name,
                    "reply_to": message.get("sender"),
                },
            )
        await self.send_frame(
            {
                "type": message["what"],
                "ticket": message["ticket"],
                "who": "agent",
                "user": message["user"],
                "active": message["active"],
            }
        )

    async def ticket_typing(self, message: dict) -> None:
        """A visitor typing in a chat (from the chat socket), on agent/team groups."""
        ticket_id = message.get("ticket")
        if getattr(self, "user", None) is None or message.get("who") != "visitor":
            return
        if isinstance(ticket_id, int) and await self._may_see(ticket_id):
            await self.send_frame({"type": "typing", "ticket": ticket_id, "who": "visitor", "active": True})

    async def disconnect(self, code):
        if getattr(self, "user", None) is not None:
            await self._leave_viewed()
        await super().disconnect(code)


BOARD_EVERY_SECONDS = 5.0  # a fresh board snapshot at least this often
BOARD_AFTER_EVENT_SECONDS = 0.3  # and this soon after events (several events, one snapshot)


class SupervisorConsumer(TicketEventSocket):
    """Supervisors and admins: every ticket event, and `board` snapshots for the supervisor board
    (on connect, every few seconds, shortly after each event, and on a {"type": "board"} frame)."""

    role_check = staticmethod(audience.may_use_supervisor_socket)

    def groups_for(self) -> list[str]:
        return ["supervisors"]

    async def connect(self):
        self.board_task = None
        self.board_soon = None
        await super().connect()
        if getattr(self, "user", None) is not None:
            await self.send_board(fresh=False)
            self.board_task = asyncio.ensure_future(self._board_loop())

    async def send_board(self, *, fresh: bool) -> None:
        from frontend.board_data import board_snapshot

        try:
            board = await database_sync_to_async(board_snapshot)(fresh=fresh)
        except Exception:  # the events keep flowing even if a snapshot fails
            logger.exception("Supervisor board snapshot failed")
            return
        await self.send_frame({"type": "board", "board": board})

    async def _board_loop(self) -> None:
        while True:
            await asyncio.sleep(BOARD_EVERY_SECONDS)
            await self.send_board(fresh=False)

    async def _board_after_event(self) -> None:
        await asyncio.sleep(BOARD_AFTER_EVENT_SECONDS)
        self.board_soon = None
        await self.send_board(fresh=True)

    async def frame_board(self, frame: dict) -> None:
        await self.send_board(fresh=True)

    async def ticket_event(self, message: dict) -> None:
        await super().ticket_event(message)
        if getattr(self, "user", None) is not None and self.board_soon is None:
            self.board_soon = asyncio.ensure_future(self._board_after_event())

    async def disconnect(self, code):
        for task in (getattr(self, "board_task", None), getattr(self, "board_soon", None)):
            if task is not None:
                task.cancel()
        await super().disconnect(code)
