"""The one path by which a customer's message enters: every channel adapter
normalizes what it received into an `InboundMessage` and calls `inbound_ingest`.

Idempotent on (channel, external_id): the same message delivered twice is
stored once, also when two processes ingest it at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.identifiers import normalize_email, normalize_phone
from crm.models import Identity, IdentityKind, Person, Source
from crm.selectors import company_for_email_domain, identity_find
from crm.services import person_create, person_link_company
from ticketing.models import Channel, Message, Queue, Status, Ticket
from ticketing.selectors import message_by_external_id
from ticketing.services import NewAttachment, ticket_add_inbound, ticket_create

IDENTITY_KIND_BY_CHANNEL = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.VOICE: IdentityKind.PHONE,
    Channel.CHAT: IdentityKind.CHAT,
}
SOURCE_BY_CHANNEL = {
    Channel.EMAIL: Source.EMAIL,
    Channel.SMS: Source.SMS,
    Channel.VOICE: Source.PHONE,
    Channel.CHAT: Source.CHAT,
}


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    sender_address: str  # email address, phone number or chat visitor id
    external_id: str
    subject: str = ""
    text: str = ""
    html: str = ""  # raw; sanitized on store
    sender_name: str = ""
    language: str = ""
    ticket_id: int | None = None  # thread hint resolved by the adapter (reply headers, subject reference, chat session)
    queue: Queue | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    flagged: bool = False  # the adapter could not read everything
    received_at: object = None
    reopen_closed: bool = False  # thread into a closed ticket and reopen it, instead of a new follow-up ticket
    # False: the caller has just looked this external id up and found it not stored (a mail poller checks its
    # batch in one query), so it is inserted at once; the unique external id still catches one stored meanwhile.
    maybe_stored: bool = True
    # The sender's identity with its person, when the caller has just read it in the open transaction (the chat's
    # group commit reads its batch's in one query); used only if it is this channel's identity of the address.
    sender: Identity | None = None
    # True: `sender` is what the caller's look-up of the address in the open transaction found, also when it found
    # nothing (a mail poller reads its batch's senders in one query), so the address is not looked up again.
    sender_looked_up: bool = False
    # The hinted ticket, when the caller has just locked it in the open transaction (the chat's group commit
    # locks its batch's tickets in one statement); used only if it is the hinted ticket.
    thread: Ticket | None = None


@dataclass(frozen=True)
class IngestResult:
    message: Message
    ticket: Ticket
    created: bool  # False when this external id had been stored before


def _sender_identity_value(kind: str, address: str) -> str | None:
    """The normalized address, or None when it is not a usable address at all."""
    try:
        if kind == IdentityKind.EMAIL:
            return normalize_email(address)
        if kind == IdentityKind.PHONE:
            return normalize_phone(address)
    except ValueError:
        return None
    return address.strip()[:254] or None


def _resolve_sender(inbound: InboundMessage, *, savepoint: bool = True) -> tuple[Person, Identity | None]:
    """The sender's person, created on first contact. An unusable address still gets
    a person (without identity) so the message is kept, flagged for an agent."""
    kind = IDENTITY_KIND_BY_CHANNEL.get(inbound.channel, IdentityKind.EMAIL)
    value = _sender_identity_value(kind, inbound.sender_address)
    known = inbound.sender
    if known is not None and value is not None and (known.kind, known.value) == (kind, value):
        return known.person, known
    if value is not None and not (inbound.sender_looked_up and known is None):
        identity = identity_find(kind=kind, value=value)
        if identity is not None:
            return identity.person, identity
    name = inbound.sender_name.strip() or inbound.sender_address.strip() or "(unknown sender)"
    person = person_create(
        by=None,
        name=name[:100],
        emails=[value] if value and kind == IdentityKind.EMAIL else [],
        phones=[value] if value and kind == IdentityKind.PHONE else [],
        language=inbound.language,
        source=SOURCE_BY_CHANNEL.get(inbound.channel, Source.MANUAL),
        addresses_looked_up=value is not None,
        savepoint=savepoint,
    )
    if value is None:
        return person, None
    if kind == IdentityKind.CHAT:
        return person, Identity.objects.create(person=person, kind=kind, value=value)
    if kind == IdentityKind.EMAIL:
        company = company_for_email_domain(value)
        if company is not None:
            person_link_company(person=person, company=company)
    # person_create left the new identities in memory (person.identities.all() reads nothing).
    return person, next(i for i in person.identities.all() if i.kind == kind and i.value == value)


def _open_thread(inbound: InboundMessage, person: Person) -> Ticket | None:
    """The hinted ticket, locked for the message about to be added (one read instead of a read and a lock)."""
    if inbound.ticket_id is None:
        return None
    if inbound.thread is not None and inbound.thread.pk == inbound.ticket_id:
        ticket = inbound.thread if inbound.thread.customer_id == person.pk else None
    else:
        ticket = Ticket.objects.select_for_update().filter(pk=inbound.ticket_id, customer=person).first()
    if ticket is None or (ticket.status == Status.CLOSED and not inbound.reopen_closed):
        return None
    ticket.customer = person
    return ticket


RACE_ATTEMPTS = 3


def inbound_ingest(inbound: InboundMessage, *, savepoint: bool = True) -> IngestResult:
    """`savepoint=False`: the caller holds a savepoint for this message alone and handles an IntegrityError or a
    ValidationError (the external id or the sender's identity stored meanwhile) by calling again with one: one
    savepoint a message instead of two (a mail poller's batch)."""
    if not savepoint:
        if inbound.ticket_id is None and inbound.maybe_stored:
            existing = message_by_external_id(channel=inbound.channel, external_id=inbound.external_id)
            if existing is not None:
                return IngestResult(message=existing, ticket=existing.ticket, created=False)
        return _ingest_new(inbound, savepoint=False)
    for attempt in range(RACE_ATTEMPTS):
        # A message on a known conversation is almost never a resend: insert first and let the unique
        # external id catch the resend (the transaction then rolls back and the look-up below answers).
        if attempt and inbound.sender_looked_up:  # the sender may have been created meanwhile: look again
            inbound = replace(inbound, sender_looked_up=False)
        if attempt or (inbound.ticket_id is None and inbound.maybe_stored):
            existing = message_by_external_id(channel=inbound.channel, external_id=inbound.external_id)
            if existing is not None:
                return IngestResult(message=existing, ticket=existing.ticket, created=False)
        try:
            with transaction.atomic():
                return _ingest_new(inbound)
        except (IntegrityError, ValidationError):
            # Another process stored the same external id, or created the same sender's
            # identity, between our check and our insert (or this is a resend): look again.
            if attempt == RACE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _ingest_new(inbound: InboundMessage, *, savepoint: bool = True) -> IngestResult:
    person, identity = _resolve_sender(inbound, savepoint=savepoint)
    received_at = inbound.received_at or timezone.now()
    flagged = inbound.flagged or identity is None
    ticket = _open_thread(inbound, person)
    if ticket is not None:
        message = ticket_add_inbound(
            locked=True,
            ticket=ticket,
            body_text=inbound.text,
            body_html=inbound.html,
            sender=identity,
            channel=inbound.channel,
            external_id=inbound.external_id,
            attachments=inbound.attachments,
            flagged=flagged,
            at=received_at,
        )
        return IngestResult(message=message, ticket=ticket, created=True)
    ticket = ticket_create(
        by=None,
        customer=person,
        subject=inbound.subject.strip() or inbound.text.strip()[:80] or "(no subject)",
        channel=inbound.channel,
        body_text=inbound.text,
        body_html=inbound.html,
        queue=inbound.queue,
        language=inbound.language,
        external_id=inbound.external_id,
        attachments=inbound.attachments,
        created_at=received_at,
        sender=identity,
        flagged=flagged,
    )
    return IngestResult(message=ticket.opening_message, ticket=ticket, created=True)
