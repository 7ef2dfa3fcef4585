"""One function per chat action, shared by the socket consumer, the widget's HTTP endpoints and tests."""

from __future__ import annotations

import hashlib
from email.utils import make_msgid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from channels_app.chat.models import ChatUpload, ChatVisitor, ChatWidget
from channels_app.chat.tokens import visitor_id_new
from channels_app.email.outbound import mailbox_for_ticket
from channels_app.models import OutboundEmail, OutboundKind
from crm.identifiers import normalize_phone
from crm.models import Identity, IdentityKind
from ticketing.inbound import InboundMessage, IngestResult, inbound_ingest
from ticketing.models import Channel, Direction, Message, Ticket
from ticketing.services import NewAttachment

MAX_TEXT = 4000
MAX_CLIENT_ID = 64
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
ALLOWED_UPLOAD_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.ms-excel",
)


def chat_visitor_resolve(*, widget: ChatWidget, visitor_id: str | None, language: str = "") -> ChatVisitor:
    """The visitor named by a valid token, or a new one."""
    if visitor_id:
        visitor = ChatVisitor.objects.filter(widget=widget, visitor_id=visitor_id).first()
        if visitor is not None:
            ChatVisitor.objects.filter(pk=visitor.pk).update(last_seen_at=timezone.now())
            return visitor
    try:
        with transaction.atomic():
            return ChatVisitor.objects.create(
                widget=widget, visitor_id=visitor_id or visitor_id_new(), language=language[:10]
            )
    except IntegrityError:  # two tabs with the same fresh token at once
        return ChatVisitor.objects.get(widget=widget, visitor_id=visitor_id)


def _clean_profile(*, name: str, email: str, phone: str) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = {"name": (name or "").strip()[:100], "email": (email or "").strip()[:254], "phone": ""}
    if cleaned["email"]:
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if (phone or "").strip():
        try:
            cleaned["phone"] = normalize_phone(phone.strip())[:40]
        except ValueError:
            errors["phone"] = [_("Enter a valid phone number.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def chat_visitor_profile_set(*, visitor: ChatVisitor, name: str = "", email: str = "", phone: str = "") -> ChatVisitor:
    """The pre-chat form: who the visitor is (name, and email or phone)."""
    cleaned = _clean_profile(name=name, email=email, phone=phone)
    for field, value in cleaned.items():
        if value:
            setattr(visitor, field, value)
    visitor.save(update_fields=["name", "email", "phone"])
    return visitor


def chat_upload_store(*, visitor: ChatVisitor, filename: str, content_type: str, data: bytes) -> ChatUpload:
    if len(data) == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [_("Files may be at most %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}]}
        )
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in ALLOWED_UPLOAD_TYPES:
        raise ValidationError({"file": [_("This kind of file cannot be sent here.")]})
    digest = hashlib.sha256(data).hexdigest()
    upload = ChatUpload(
        visitor=visitor,
        filename=(filename or "file").replace("/", "_").replace("\\", "_")[:255],
        content_type=content_type,
        size=len(data),
        sha256=digest,
    )
    upload.file.save(digest[:16], ContentFile(data), save=False)
    upload.save()
    return upload


def _attachments(visitor: ChatVisitor, upload_ids: list) -> list[NewAttachment]:
    if not upload_ids:
        return []
    if not isinstance(upload_ids, list) or len(upload_ids) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": [_("At most %(n)s files per message.") % {"n": MAX_ATTACHMENTS}]})
    try:
        ids = [int(value) for value in upload_ids]
    except (TypeError, ValueError):
        raise ValidationError({"attachments": [_("Unknown file.")]}) from None
    uploads = list(ChatUpload.objects.filter(visitor=visitor, pk__in=ids))
    if len(uploads) != len(set(ids)):
        raise ValidationError({"attachments": [_("Unknown file.")]})
    result = []
    for upload in uploads:
        with upload.file.open("rb") as handle:
            result.append(NewAttachment(filename=upload.filename, content_type=upload.content_type, data=handle.read()))
    return result


def chat_external_id(visitor: ChatVisitor, client_id: str) -> str:
    return f"chat:{visitor.widget.key}:{visitor.visitor_id}:{client_id}"


def chat_message_ingest(
    *,
    visitor: ChatVisitor,
    client_id: str,
    text: str,
    attachments: list | None = None,
    sender: Identity | None = None,
    thread: Ticket | None = None,
) -> IngestResult:
    """A visitor's message, stored once per client id (a resend after a lost ack returns the stored one).

    The first message opens the conversation (a chat ticket in the widget's queue); the
    following ones join it through the thread hint. `sender`: the visitor's chat identity with its
    person, when the caller has just read it in the open transaction (the group commit reads its batch's);
    `thread`: the visitor's conversation, when the caller has just locked it (the group commit locks its batch's)."""
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > MAX_CLIENT_ID:
        raise ValidationError({"client_id": [_("Each message needs a client id of at most 64 characters.")]})
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": [_("Messages may be at most %(n)s characters.") % {"n": MAX_TEXT}]})
    new_attachments = _attachments(visitor, attachments or [])
    if not text and not new_attachments:
        raise ValidationError({"text": [_("A message cannot be empty.")]})
    widget = visitor.widget
    subject = text[:80] or _("Chat with %(name)s") % {"name": visitor.name or _("a visitor")}
    result = inbound_ingest(
        InboundMessage(
            channel=Channel.CHAT,
            sender_address=visitor.address,
            sender_name=visitor.name or _("Chat visitor"),
            external_id=chat_external_id(visitor, client_id),
            subject=subject,
            text=text,
            language=visitor.language,
            # The ingest threads into it unless it was closed (merged ones are): then a new conversation starts.
            ticket_id=visitor.ticket_id,
            queue=widget.queue,
            attachments=new_attachments,
            sender=sender,
            thread=thread,
        )
    )
    if visitor.ticket_id != result.ticket.pk:
        ChatVisitor.objects.filter(pk=visitor.pk).update(ticket=result.ticket)
        visitor.ticket = result.ticket
    if result.created and attachments:
        ChatUpload.objects.filter(visitor=visitor, pk__in=[int(value) for value in attachments]).update(used=True)
    if result.created and (visitor.email or visitor.phone):
        link_contact_details(visitor, result.ticket)
    return result


def link_contact_details(visitor: ChatVisitor, ticket: Ticket) -> None:
    """The pre-chat email/phone on the customer record, unless another customer already has them."""
    for kind, value in ((IdentityKind.EMAIL, visitor.email.lower()), (IdentityKind.PHONE, visitor.phone)):
        if value and not Identity.objects.filter(kind=kind, value=value).exists():
            try:
                with transaction.atomic():
                    Identity.objects.create(person=ticket.customer, kind=kind, value=value)
            except IntegrityError:
                pass


def chat_offline_message_create(
    *, widget: ChatWidget, visitor: ChatVisitor, client_id: str, name: str, email: str, text: str, phone: str = ""
) -> IngestResult:
    """Outside business hours or with nobody online: the widget's message form becomes an email ticket."""
    errors: dict[str, list[str]] = {}
    if not (email or "").strip():
        errors["email"] = [_("Please give an email address so we can answer you.")]
    if not (text or "").strip():
        errors["text"] = [_("Please write your message.")]
    elif len(text) > MAX_TEXT:
        errors["text"] = [_("Messages may be at most %(n)s characters.") % {"n": MAX_TEXT}]
    if not client_id or len(client_id) > MAX_CLIENT_ID:
        errors["client_id"] = [_("Each message needs a client id of at most 64 characters.")]
    if errors:
        raise ValidationError(errors)
    cleaned = _clean_profile(name=name, email=email, phone=phone)
    chat_visitor_profile_set(visitor=visitor, **cleaned)
    text = text.strip()
    return inbound_ingest(
        InboundMessage(
            channel=Channel.EMAIL,
            sender_address=cleaned["email"],
            sender_name=cleaned["name"],
            external_id=f"chat-offline:{widget.key}:{visitor.visitor_id}:{client_id}",
            subject=_("Message from the website chat: %(text)s") % {"text": text[:60]},
            text=text,
            language=visitor.language,
            queue=widget.queue,
        )
    )


def _transcript_text(ticket: Ticket, language: str) -> tuple[str, str]:
    """Plain text: whatever markup a visitor or agent typed arrives as literal characters, never as HTML."""
    with override(language or None):
        lines = [_("Transcript of your chat (ticket #%(number)s)") % {"number": ticket.number}, ""]
        messages = (
            Message.objects.filter(ticket=ticket, direction__in=[Direction.INBOUND, Direction.OUTBOUND])
            .select_related("author")
            .order_by("created_at", "id")
        )
        for message in messages:
            who = _("You") if message.direction == Direction.INBOUND else (message.author or _("Agent"))
            when = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")
            lines.append(f"[{when}] {who}:")
            lines.extend(f"  {line}" for line in (message.body_text or "").splitlines() or [""])
            for attachment in message.attachments.all():
                lines.append("  " + _("(file: %(name)s)") % {"name": attachment.filename})
            lines.append("")
        subject = _("Your chat transcript (#%(number)s)") % {"number": ticket.number}
    return subject, "\n".join(lines)


def chat_transcript_request(*, visitor: ChatVisitor, email: str = "") -> OutboundEmail:
    """Queue the conversation's transcript to the visitor's email through the email outbox (the worker sends it)."""
    address = (email or visitor.email or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from None
    ticket = Ticket.objects.filter(pk=visitor.ticket_id).first()
    if ticket is None:
        raise ValidationError({"ticket": [_("There is no conversation to send yet.")]})
    subject, body = _transcript_text(ticket, visitor.language)
    mailbox = mailbox_for_ticket(ticket)
    domain = (mailbox.from_address.rsplit("@", 1)[-1] if mailbox else "") or "localhost"
    return OutboundEmail.objects.create(
        ticket=ticket,
        kind=OutboundKind.TRANSCRIPT,
        to_address=address,
        subject=subject,
        body_text=body,
        mailbox=mailbox,
        email_id=make_msgid(idstring=f"ticket{ticket.number}.transcript", domain=domain),
    )


def chat_message_delivered(*, message_ids: list[int], ticket: Ticket) -> int:
    """The visitor's widget has shown these agent messages."""
    from ticketing.models import DeliveryStatus

    return Message.objects.filter(
        pk__in=message_ids, ticket=ticket, direction=Direction.OUTBOUND, channel=Channel.CHAT
    ).update(delivery_status=DeliveryStatus.DELIVERED, delivery_error="")
