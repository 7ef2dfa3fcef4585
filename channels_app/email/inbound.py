"""Email in: raw bytes → `inbound_ingest`, and the IMAP poller that feeds it.

Each fetched message is stored in one transaction with its raw bytes and the
mailbox's last UID, so a crash at any point loses nothing and doubles nothing:
what was not committed is fetched again, and ingestion is idempotent on the
Message-ID (or the hash of the raw bytes when there is none).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.email.batch import BatchLookups, batch_lookups
from channels_app.email.loops import NO_REPLY_SENDER, acknowledgement_refusal, acknowledgement_text
from channels_app.email.parse import ParsedEmail, parse_email
from channels_app.email.parse_child import ParserChild
from channels_app.email.threads import subject_ticket_number, subject_with_reference, thread_candidates
from channels_app.models import Mailbox, OutboundEmail, OutboundKind, RawEmail, Security
from contact_center.deferred import inserts_deferred
from contact_center.leases import lease_owner, lease_release, lease_take
from crm.selectors import company_domains_batched
from routing.batch import routing_batched
from ticketing.events import publishing_batched, ticket_event_record
from ticketing.inbound import InboundMessage, IngestResult, inbound_ingest
from ticketing.models import Channel, DeliveryStatus, Message, Queue, Ticket
from ticketing.selectors import default_queue, default_queue_batched, stored_external_ids
from ticketing.services import NewAttachment, ticket_add_automatic_reply, ticket_numbers_batched
from ticketing.sla.services import sla_policies_batched

logger = logging.getLogger("channels_app.email")

FETCH_BATCH = 25
CHILD_PARSER_MIN_BATCHES = 2  # a poll with fewer batches parses in its own process (no child to start)
IMAP_TIMEOUT = 30
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def email_thread_hint(parsed: ParsedEmail) -> int | None:
    """The ticket this email continues: by its reply headers, else by `[#number]` in the subject."""
    candidates = thread_candidates(in_reply_to=parsed.in_reply_to, references=parsed.references)
    if candidates:
        # (ticket, the ticket it was merged into) by Message-ID: our inbound emails first, then our outbound ones
        # (not looked up when the first candidate is one of ours already).
        found = {
            email_id: (ticket_id, merged_into)
            for email_id, ticket_id, merged_into in RawEmail.objects.filter(email_id__in=candidates).values_list(
                "email_id", "message__ticket_id", "message__ticket__merged_into_id"
            )
        }
        if candidates[0] not in found:
            for email_id, ticket_id, merged_into in OutboundEmail.objects.filter(
                email_id__in=candidates, ticket__isnull=False
            ).values_list("email_id", "ticket_id", "ticket__merged_into_id"):
                found.setdefault(email_id, (ticket_id, merged_into))
        for candidate in candidates:
            if candidate in found:
                ticket_id, merged_into = found[candidate]
                return ticket_id if merged_into is None else _follow_merges(merged_into)
    number = subject_ticket_number(parsed.subject)
    if number is not None:
        ticket_id = Ticket.objects.filter(number=number).values_list("pk", flat=True).first()
        if ticket_id is not None:
            return _follow_merges(ticket_id)
    return None


def _follow_merges(ticket_id: int) -> int:
    for _ in range(10):
        target = Ticket.objects.filter(pk=ticket_id).values_list("merged_into_id", flat=True).first()
        if target is None:
            return ticket_id
        ticket_id = target
    return ticket_id


def email_mark_bounced(parsed: ParsedEmail) -> list[Message]:
    """A delivery status notification about our outbound messages marks them failed."""
    if not parsed.bounce or not parsed.bounced_message_ids:
        return []
    message_ids = list(
        OutboundEmail.objects.filter(email_id__in=parsed.bounced_message_ids).values_list("message_id", flat=True)
    )
    message_ids += list(
        RawEmail.objects.filter(
            email_id__in=parsed.bounced_message_ids, direction=RawEmail.Direction.OUTBOUND
        ).values_list("message_id", flat=True)
    )
    messages = list(Message.objects.filter(pk__in=set(message_ids)))
    reason = _bounce_reason(parsed.text)
    for message in messages:
        Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.FAILED, delivery_error=reason[:500])
        OutboundEmail.objects.filter(message_id=message.pk).update(status="failed", last_error=reason[:500])
    return messages


def _link_follow_up(*, ticket: Ticket, earlier_id: int) -> None:
    """A reply to a closed ticket opened this one: say so on both tickets' event logs."""
    earlier = Ticket.objects.filter(pk=earlier_id, customer_id=ticket.customer_id).first()
    if earlier is None:
        return  # a reference to someone else's ticket: not a follow-up, and not to be revealed
    ticket_event_record(
        ticket=ticket, kind="ticket.follow_up_of", data={"ticket": earlier.pk, "number": earlier.number}
    )
    ticket_event_record(ticket=earlier, kind="ticket.followed_up", data={"ticket": ticket.pk, "number": ticket.number})


def _bounce_reason(text: str) -> str:
    for line in text.splitlines():
        if re.search(r"\b[45]\d\d\b|\b[45]\.\d+\.\d+\b", line):
            return "bounced: " + line.strip()
    return "bounced"


def _language(parsed: ParsedEmail) -> str:
    return "zh" if CJK.search(parsed.subject + parsed.text[:2000]) else ""


@dataclass(frozen=True)
class EmailStored:
    result: IngestResult | None  # None for a bounce about our own message (no ticket message)
    parsed: ParsedEmail
    bounced: list[Message]
    acknowledgement: OutboundEmail | None = None
    acknowledgement_refused: str = ""


def _acknowledge(
    *, parsed: ParsedEmail, result: IngestResult, mailbox: Mailbox | None
) -> tuple[OutboundEmail | None, str]:
    """Queue the automatic acknowledgement of a new ticket (same transaction), unless the loop rules refuse."""
    if mailbox is None or not mailbox.auto_acknowledge or not result.created:
        return None, ""
    if result.ticket.messages.filter(direction="in").count() != 1:
        return None, ""  # a follow-up on an existing ticket: no acknowledgement
    sender = parsed.reply_to or parsed.from_address
    recent = OutboundEmail.objects.filter(
        kind=OutboundKind.ACKNOWLEDGEMENT,
        to_address__iexact=sender,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    ours = set(Mailbox.objects.values_list("from_address", flat=True)) | set(
        Mailbox.objects.values_list("imap_user", flat=True)
    )
    refusal = acknowledgement_refusal(parsed=parsed, our_addresses=ours, sent_last_hour=recent)
    if not refusal and NO_REPLY_SENDER.match(sender or ""):
        refusal = "no-reply sender"
    if refusal:
        return None, refusal
    domain = mailbox.from_address.rsplit("@", 1)[-1] or "localhost"
    ticket = result.ticket
    text = acknowledgement_text(mailbox.acknowledgement_text, number=ticket.number)
    # Shown in the conversation like any sent email, with its delivery status.
    message = ticket_add_automatic_reply(ticket=ticket, body_text=text, channel=Channel.EMAIL)
    ack = OutboundEmail.objects.create(
        message=message,
        ticket=ticket,
        mailbox=mailbox,
        kind=OutboundKind.ACKNOWLEDGEMENT,
        email_id=make_msgid(idstring=f"ticket{ticket.number}.ack", domain=domain),
        to_address=sender[:254],
        subject=subject_with_reference(ticket.subject, ticket.number),
        body_text=text,
        in_reply_to=parsed.message_id,
    )
    return ack, ""


def email_ingest(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    queue: Queue | None = None,
    parsed: ParsedEmail | None = None,
    maybe_stored: bool = True,
    compressed: bytes | None = None,
    savepoint: bool = True,
    lookups: BatchLookups | None = None,
) -> EmailStored:
    """Store one received email (idempotent). Never raises on the content of `raw`.
    Its own transaction, or part of the caller's (the poller stores a batch in one, each email in a savepoint).
    `queue`: where a new ticket goes, when the caller has already looked it up (the mailbox's, else the default).
    `parsed`: `raw` parsed by the caller; `maybe_stored=False`: the caller found its external id not stored;
    `compressed`: `raw` compressed by the caller (`RawEmail.compress`); `savepoint=False`: see `inbound_ingest`.
    `lookups`: the poller's batch look-ups (channels_app.email.batch), which also hold the new raw email."""
    parsed = parsed or parse_email(raw)
    with transaction.atomic(savepoint=False):
        bounced = email_mark_bounced(parsed)
        if bounced:
            return EmailStored(result=None, parsed=parsed, bounced=bounced)
        hint = lookups.thread_hint(parsed) if lookups is not None else email_thread_hint(parsed)
        sender, sender_looked_up = lookups.sender(parsed) if lookups is not None else (None, False)
        inbound = InboundMessage(
            channel=Channel.EMAIL,
            sender_address=parsed.from_address or parsed.reply_to,
            sender_name=parsed.from_name,
            external_id=parsed.external_id,
            subject=parsed.subject,
            text=parsed.reply_text,
            html=parsed.reply_html,
            language=_language(parsed),
            ticket_id=hint,
            queue=queue or (mailbox.default_queue if mailbox is not None else None),
            attachments=[
                NewAttachment(filename=a.filename, content_type=a.content_type, data=a.data, content_id=a.content_id)
                for a in parsed.attachments
            ],
            flagged=bool(parsed.flagged),
            received_at=timezone.now(),
            reopen_closed=bool(mailbox and mailbox.reopen_closed),
            maybe_stored=maybe_stored,
            sender=sender,
            sender_looked_up=sender_looked_up,
            thread=lookups.thread(hint) if lookups is not None else None,
        )
        result = inbound_ingest(inbound, savepoint=savepoint)
        if result.created and hint is not None and result.ticket.pk != hint:
            _link_follow_up(ticket=result.ticket, earlier_id=hint)
        fields = {
            "mailbox": mailbox,
            "direction": RawEmail.Direction.INBOUND,
            "email_id": parsed.message_id,
            "references": " ".join(parsed.references),
            "compressed": compressed if compressed is not None else RawEmail.compress(raw),
            "size": len(raw),
        }
        if result.created:  # a message stored just now has no raw email yet: no lookup, no savepoint
            if lookups is not None:
                lookups.raw_defer(RawEmail(message=result.message, **fields))
            else:
                RawEmail.objects.create(message=result.message, **fields)
            raw_created = True
        else:
            if lookups is not None:
                lookups.flush()  # the message may be one stored earlier in the batch, its raw email not written yet
            _raw, raw_created = RawEmail.objects.get_or_create(message=result.message, defaults=fields)
        ack, refused = _acknowledge(parsed=parsed, result=result, mailbox=mailbox) if raw_created else (None, "")
    return EmailStored(result=result, parsed=parsed, bounced=[], acknowledgement=ack, acknowledgement_refused=refused)


# ---- IMAP --------------------------------------------------------------------------------------------------------


def imap_connect(mailbox: Mailbox):
    from imapclient import IMAPClient

    use_ssl = mailbox.imap_security == Security.TLS
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=use_ssl,
        ssl_context=ssl.create_default_context() if use_ssl else None,
        timeout=IMAP_TIMEOUT,
    )
    if mailbox.imap_security == Security.STARTTLS:
        client.starttls(ssl.create_default_context())
    client.login(mailbox.imap_user, mailbox.imap_password)
    return client


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    failed: int = 0
    busy: bool = False  # another worker holds the mailbox's lease: nothing was fetched


LEASE_SECONDS = 120


def mailbox_lease_take(mailbox: Mailbox, *, owner: str, seconds: int = LEASE_SECONDS) -> bool:
    """Take or renew the right to fetch this mailbox. Two workers never fetch one mailbox at once:
    that would store nothing twice (ingestion is idempotent) but would do the work twice.
    A lease held by a dead process on this host is taken over at once rather than left to expire."""
    if lease_take(Mailbox.objects.filter(pk=mailbox.pk), owner=owner, seconds=seconds):
        return True
    holder = Mailbox.objects.filter(pk=mailbox.pk).values_list("lease_owner", flat=True).first() or ""
    if not _holder_is_dead(holder):
        return False
    until = timezone.now() + timedelta(seconds=seconds)
    return bool(Mailbox.objects.filter(pk=mailbox.pk, lease_owner=holder).update(lease_owner=owner, lease_until=until))


def _holder_is_dead(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def mailbox_lease_release(mailbox: Mailbox, *, owner: str) -> None:
    lease_release(Mailbox.objects.filter(pk=mailbox.pk), owner=owner)


def mailbox_poll(*, mailbox: Mailbox, limit: int | None = None) -> PollResult:
    """Fetch the new UIDs of one mailbox and store each message. Raises only for connection trouble."""
    owner = lease_owner()
    if not mailbox_lease_take(mailbox, owner=owner):
        return PollResult(busy=True)
    try:
        return _poll_leased(mailbox=mailbox, limit=limit, owner=owner)
    finally:
        mailbox_lease_release(mailbox, owner=owner)


def _poll_leased(*, mailbox: Mailbox, limit: int | None, owner: str) -> PollResult:
    result = PollResult()
    client = imap_connect(mailbox)
    try:
        selected = client.select_folder(mailbox.folder, readonly=not mailbox.processed_folder)
        uidvalidity = int(selected.get(b"UIDVALIDITY", 0) or 0)
        if mailbox.uidvalidity != uidvalidity:
            # A new UID space: start over; idempotent ingestion skips what we already have.
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        uids = sorted(uid for uid in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if uid > mailbox.last_uid)
        if limit is not None:
            uids = uids[:limit]
        batches = [uids[start : start + FETCH_BATCH] for start in range(0, len(uids), FETCH_BATCH)]
        # The next batch is fetched, then parsed by a child process while this one is stored.
        parser = ParserChild() if len(batches) >= CHILD_PARSER_MIN_BATCHES else None
        try:
            items = _fetch(client, batches[0]) if batches else []
            prepared = None  # the first batch is parsed here while the child starts
            for index, batch in enumerate(batches):
                if index and not mailbox_lease_take(mailbox, owner=owner):
                    return result  # the lease was lost (we were too slow): the new holder goes on from last_uid
                if index and parser is not None:
                    prepared = parser.take([raw for _uid, raw in items])
                next_items = _fetch(client, batches[index + 1]) if index + 1 < len(batches) else []
                if parser is not None and next_items:
                    parser.submit([raw for _uid, raw in next_items])
                stored = _store_batch(mailbox=mailbox, items=items, prepared=prepared)
                result.fetched += stored
                result.stored += stored
                if stored < len(items):  # something broke the batch's transaction: one at a time, as far as we get
                    for uid, raw in items:
                        result.fetched += 1
                        if not _store_one(mailbox=mailbox, uid=uid, raw=raw):
                            result.failed += 1
                            break
                        result.stored += 1
                        stored += 1
                if mailbox.processed_folder:
                    for uid in batch[:stored]:
                        _move(client, uid, mailbox.processed_folder)
                if result.failed:
                    return result  # the database is in trouble: try again next round, from this UID
                items = next_items
        finally:
            if parser is not None:
                parser.close()
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error="")
    finally:
        with contextlib.suppress(Exception):  # closing a broken connection
            client.logout()
    return result


def _fetch(client, uids: list[int]) -> list[tuple[int, bytes]]:
    fetched = client.fetch(uids, ["BODY.PEEK[]"])
    return [(uid, (fetched.get(uid) or {}).get(b"BODY[]") or b"") for uid in uids]


@contextlib.contextmanager
def _batch_context():
    """One batch's transaction. The SLA policies and each sender domain's company are read once for it;
    its timeline lines and search-queue rows are written in bulk before its commit; after the commit its
    new tickets are routed together, then its live updates (with the routing's offers) go out in one trip."""
    with (
        publishing_batched(),
        routing_batched(),
        sla_policies_batched(),
        company_domains_batched(),
        default_queue_batched(),
        transaction.atomic(),
        inserts_deferred(),
        ticket_numbers_batched(),
    ):
        yield


def _store_batch(
    *, mailbox: Mailbox, items: list[tuple[int, bytes]], prepared: list[tuple[ParsedEmail | None, bytes]] | None = None
) -> int:
    """Store a fetched batch and advance the last UID in one transaction (one commit instead
    of one per message). A message the parser or ingestion chokes on is kept flagged, in its
    own savepoint; anything else that fails rolls the whole batch back. Returns how many were stored.
    `prepared`: each message's (parsed, compressed raw) from the parser process, else done here."""
    try:
        with _batch_context():
            parsed = [p for p, _ in prepared] if prepared is not None else [_parsed(raw) for _uid, raw in items]
            compressed = [c for _, c in prepared] if prepared is not None else [None] * len(items)
            batch = _Batch(
                mailbox=mailbox,
                queue=_new_ticket_queue(mailbox),  # once, not for every new ticket
                messages=list(zip([raw for _uid, raw in items], parsed, compressed, strict=True)),
            )
            if not _store_together(batch):
                _store_each(batch)
            batch.lookups.flush()
            last = items[-1][0]
            Mailbox.objects.filter(pk=mailbox.pk, last_uid__lt=last).update(last_uid=last)
    except Exception:
        logger.exception("Mailbox %s: storing a batch failed; retrying one by one", mailbox.pk)
        return 0
    mailbox.last_uid = max(mailbox.last_uid, items[-1][0])
    return len(items)


class _Batch:
    """A fetched batch's messages (raw, parsed or None, compressed or None) and what is looked up once for them."""

    def __init__(self, *, mailbox: Mailbox, queue: Queue | None, messages: list) -> None:
        self.mailbox, self.queue, self.messages = mailbox, queue, messages
        parsed = [email for _raw, email, _packed in messages]
        # One query for the batch's resends, one each for its senders, threads and ticket numbers.
        self.stored = stored_external_ids(channel=Channel.EMAIL, external_ids=[p.external_id for p in parsed if p])
        self.lookups = batch_lookups(parsed, stored=self.stored)

    def ingest(self, raw: bytes, email: ParsedEmail | None, packed: bytes | None, *, earlier: set[str]) -> EmailStored:
        """One message, in the caller's savepoint; looked up first when it is a resend (of this batch too)."""
        maybe_stored = email is None or email.external_id in self.stored or email.external_id in earlier
        done = email_ingest(
            raw=raw,
            mailbox=self.mailbox,
            queue=self.queue,
            parsed=email,
            compressed=packed,
            maybe_stored=maybe_stored,
            savepoint=False,
            lookups=self.lookups,
        )
        if email is not None:
            earlier.add(email.external_id)
            ticket_id = done.result.ticket.pk if done.result is not None else None
            self.lookups.stored(email, _new_sender(done), ticket_id)
        return done


def _new_sender(done: EmailStored | None):
    """The sender identity of the message stored just now, if it was (read from memory)."""
    created = done is not None and done.result is not None and done.result.created
    return done.result.message.sender if created else None


def _store_together(batch: _Batch) -> bool:
    """The batch's messages in one savepoint instead of one each: the usual case, where none fails. If one does,
    all of them roll back with the savepoint and False says to store them one per savepoint (`_store_each`),
    where a failing message fails alone: the same is stored either way, a failure costs the batch's work twice."""
    if any(email is None for _raw, email, _packed in batch.messages):
        return False  # the parser choked on one: it will fail
    checkpoint = batch.lookups.checkpoint()
    earlier: set[str] = set()
    try:
        with transaction.atomic():
            for raw, email, packed in batch.messages:
                batch.ingest(raw, email, packed, earlier=earlier)
    except Exception:
        logger.info("Mailbox %s: a message of the batch failed; storing them one at a time", batch.mailbox.pk)
        batch.lookups.rollback(checkpoint)
        return False
    return True


def _store_each(batch: _Batch) -> None:
    """The batch's messages one per savepoint: one that fails is retried with a look-up first, else kept flagged."""
    earlier: set[str] = set()
    for raw, email, packed in batch.messages:
        try:
            try:
                with transaction.atomic():  # the message's one savepoint
                    batch.ingest(raw, email, packed, earlier=earlier)
                continue
            except (IntegrityError, ValidationError):
                # A resend stored meanwhile by another process (or its sender created): looked up first this time.
                batch.lookups.flush()
                with transaction.atomic():
                    email_ingest(raw=raw, mailbox=batch.mailbox, queue=batch.queue, parsed=email, compressed=packed)
        except Exception:
            logger.exception("Mailbox %s: storing a message failed; keeping it flagged", batch.mailbox.pk)
            batch.lookups.flush()
            with transaction.atomic():
                _store_unreadable(mailbox=batch.mailbox, raw=raw)
        if email is not None:
            earlier.add(email.external_id)
            batch.lookups.stored(email, None)  # stored some other way: its sender is looked up again


def _parsed(raw: bytes) -> ParsedEmail | None:
    try:
        return parse_email(raw)
    except Exception:  # a parser bug: email_ingest meets it again in the message's savepoint, which keeps it flagged
        return None


def _new_ticket_queue(mailbox: Mailbox) -> Queue | None:
    """The mailbox's queue, else the default queue (what ticket_create would look up for each ticket)."""
    return mailbox.default_queue or default_queue()


def _store_one(*, mailbox: Mailbox, uid: int, raw: bytes) -> bool:
    """Ingest one message and advance the mailbox's last UID in the same transaction."""
    for attempt in ("full", "fallback"):
        try:
            with transaction.atomic():
                if attempt == "full":
                    email_ingest(raw=raw, mailbox=mailbox)
                else:
                    _store_unreadable(mailbox=mailbox, raw=raw)
                Mailbox.objects.filter(pk=mailbox.pk, last_uid__lt=uid).update(last_uid=uid)
            mailbox.last_uid = max(mailbox.last_uid, uid)
            return True
        except Exception:
            logger.exception("Mailbox %s: storing UID %s failed (%s)", mailbox.pk, uid, attempt)
    return False


def _store_unreadable(*, mailbox: Mailbox, raw: bytes) -> None:
    """Last resort when the normal path failed on this message: keep it, flagged, for an agent."""
    parsed = parse_email(raw)
    result = inbound_ingest(
        InboundMessage(
            channel=Channel.EMAIL,
            sender_address=parsed.from_address,
            external_id=parsed.external_id,
            subject=parsed.subject[:300] or "(unreadable email)",
            text="(This email could not be processed; the original is attached to the ticket.)",
            queue=mailbox.default_queue,
            flagged=True,
        )
    )
    RawEmail.objects.get_or_create(
        message=result.message,
        defaults={
            "mailbox": mailbox,
            "direction": RawEmail.Direction.INBOUND,
            "email_id": parsed.message_id,
            "compressed": RawEmail.compress(raw),
            "size": len(raw),
        },
    )


def _move(client, uid: int, folder: str) -> None:
    try:
        if client.has_capability("MOVE"):
            client.move([uid], folder)
        else:
            client.copy([uid], folder)
            client.delete_messages([uid])
            client.expunge([uid])
    except Exception:
        logger.exception("Could not move UID %s to %s", uid, folder)


def mailboxes_poll_all() -> dict[int, PollResult | str]:
    """Every active mailbox once; a broken mailbox is recorded and the others go on."""
    outcome: dict[int, PollResult | str] = {}
    for mailbox in Mailbox.objects.filter(active=True).select_related("default_queue"):
        try:
            outcome[mailbox.pk] = mailbox_poll(mailbox=mailbox)
        except (TimeoutError, OSError, ssl.SSLError, Exception) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            logger.warning("Mailbox %s: %s", mailbox, error)
            Mailbox.objects.filter(pk=mailbox.pk).update(last_error=error, last_polled_at=timezone.now())
            outcome[mailbox.pk] = error
    return outcome
