"""Group commit of visitors' chat lines.

Lines from different visitors that arrive while the database thread is storing others wait and are
then stored together: one database call, one transaction, one trip to the channel layer for all their
live events after the commit. If a line fails, that transaction is rolled back and each line is stored
alone, so a bad line fails alone. Each visitor's line is acknowledged only after its commit. A line
that finds a storer free is stored at once, so at a low rate nothing waits. A socket sends its next
line only after the previous one's answer, so each visitor's lines keep their order.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils.translation import override

from channels_app.chat import batch_store, selectors, services
from channels_app.chat.models import ChatVisitor
from contact_center.deferred import inserts_deferred
from crm.models import Identity, IdentityKind
from crm.selectors import identities_find
from routing.batch import routing_batched
from ticketing.events import publish_sends, publishing_batched
from ticketing.models import Message, Ticket
from ticketing.sla.services import sla_policies_batched

logger = logging.getLogger("channels_app.chat")
MAX_LINES = 50  # per transaction: bounds how long the first line of a batch waits for the last
# Batches stored at the same time, each in its own thread: while one waits for the database, another is built.
STORERS = 3


@dataclass
class ChatLine:
    visitor: ChatVisitor
    client_id: str
    text: str
    attachments: list
    language: str = "en"


@dataclass
class StoredLine:
    message: Message
    ticket: Ticket
    created: bool  # False: a resend of a stored line, answered with the stored message
    frame: dict  # the message as the visitor's widget shows it
    queue: dict | None  # the queue position, when this line opened a new conversation


@dataclass
class _Pending:
    line: ChatLine
    answer: asyncio.Future = field(repr=False)


def chat_lines_store(
    lines: list[ChatLine], *, sends: list[tuple[str, dict]] | None = None
) -> list[StoredLine | Exception]:
    """Store the lines; per line its result or its error. Together in one transaction first; if any line
    fails, that transaction is rolled back and each line is stored alone (so a bad line fails alone).
    `sends`: the committed lines' live events (group, message) are put there for the caller to send,
    instead of being sent on the way out."""
    # every stored line's live events in one trip after the commits (or handed to the caller)
    with publishing_batched(into=sends):
        if len(lines) > 1:
            try:
                return _store_together(lines)
            except Exception:
                logger.info("A chat line failed in a batch of %s: storing them one by one", len(lines))
        return [_store_alone(line) for line in lines]


def _store_together(lines: list[ChatLine]) -> list[StoredLine]:
    previous = [line.visitor.ticket_id for line in lines]
    # Tickets locked in ascending order, so two batches holding the same tickets cannot deadlock.
    order = sorted(range(len(lines)), key=lambda i: lines[i].visitor.ticket_id or 0)
    answers: list[StoredLine] = [None] * len(lines)  # type: ignore[list-item]
    try:
        # As the mail poller's batch: the timeline lines and search-queue rows in one INSERT each before the
        # commit, the routing check of all the lines' tickets together after it (not two queries a line).
        with routing_batched(), sla_policies_batched(), transaction.atomic(), inserts_deferred():
            # The visitors' chat identities in one query (a new visitor has none yet: the ingest creates it).
            senders = identities_find(kind=IdentityKind.CHAT, values=[line.visitor.address for line in lines])
            threads = _threads_locked(lines)
            # The common case (a text line on its open conversation) in one INSERT and one UPDATE for all; the
            # others (a new conversation, files, ...) through the ingest, with its savepoints.
            for i, message in batch_store.bulk_lines_store(lines, senders=senders, threads=threads).items():
                answers[i] = _stored_line(lines[i], message)
            for i in order:
                line = lines[i]
                if answers[i] is not None:
                    continue
                with override(line.language):
                    answers[i] = _store(
                        line, sender=senders.get(line.visitor.address), thread=threads.get(line.visitor.ticket_id)
                    )
            if connection.needs_rollback:  # a line's error was caught inside: the batch must not commit
                raise TransactionManagementError("A chat line failed inside the batch")
    except BaseException:
        # A conversation opened by a line that was rolled back does not exist: the visitor keeps the old one.
        for line, ticket_id in zip(lines, previous, strict=True):
            line.visitor.ticket_id = ticket_id
        raise
    return answers


def _threads_locked(lines: list[ChatLine]) -> dict[int, Ticket]:
    """The lines' conversations locked in one statement, in ascending order (two batches holding the same tickets
    cannot deadlock), instead of one look-up and lock a line."""
    ids = {line.visitor.ticket_id for line in lines} - {None}
    return {ticket.pk: ticket for ticket in Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _store_alone(line: ChatLine) -> StoredLine | Exception:
    """As before group commit: the ingest's own transaction."""
    try:
        with override(line.language):
            return _store(line)
    except Exception as exc:
        return exc


def _store(line: ChatLine, sender: Identity | None = None, thread: Ticket | None = None) -> StoredLine:
    visitor = line.visitor
    previous = visitor.ticket_id
    result = services.chat_message_ingest(
        visitor=visitor,
        client_id=line.client_id,
        text=line.text,
        attachments=line.attachments,
        sender=sender,
        thread=thread,
    )
    ticket = result.ticket
    return StoredLine(
        message=result.message,
        ticket=ticket,
        created=result.created,
        frame=selectors.message_frame(result.message, client_id=line.client_id, attachments=bool(line.attachments)),
        queue=selectors.queue_position(ticket) if ticket.pk != previous else None,
    )


def _stored_line(line: ChatLine, message: Message) -> StoredLine:
    """A line stored in bulk: on its conversation, so no queue position."""
    frame = selectors.message_frame(message, client_id=line.client_id, attachments=False)
    return StoredLine(message=message, ticket=message.ticket, created=True, frame=frame, queue=None)


class LineCommitter:
    """The lines of one event loop's sockets (daphne runs one loop) waiting for a database thread."""

    def __init__(self) -> None:
        self.waiting: list[_Pending] = []
        self.drains: set[asyncio.Task] = set()  # the batches being stored (kept referenced while they run)

    async def store(self, line: ChatLine) -> StoredLine:
        pending = _Pending(line, asyncio.get_running_loop().create_future())
        self.waiting.append(pending)
        if len(self.drains) < STORERS:
            drain = asyncio.ensure_future(self._drain())
            self.drains.add(drain)
            drain.add_done_callback(self.drains.discard)
        return await pending.answer

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_LINES], self.waiting[MAX_LINES:]
            sends: list[tuple[str, dict]] = []
            try:
                answers = await database_sync_to_async(chat_lines_store, thread_sensitive=False)(
                    [pending.line for pending in batch], sends=sends
                )
            except Exception as exc:  # unexpected (each line's own error is in its answer): no line is acked
                answers = [exc] * len(batch)
            # The batch's live events in one trip from this loop (not one a group and message from the database
            # thread through this busy loop), before the visitors' acks.
            await publish_sends(sends)
            for pending, answer in zip(batch, answers, strict=True):
                if pending.answer.done():  # the socket closed meanwhile
                    continue
                if isinstance(answer, Exception):
                    pending.answer.set_exception(answer)
                else:
                    pending.answer.set_result(answer)


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LineCommitter] = weakref.WeakKeyDictionary()


def line_committer() -> LineCommitter:
    """This event loop's committer: every chat socket served by the loop shares it."""
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None:
        committer = _committers[loop] = LineCommitter()
    return committer
