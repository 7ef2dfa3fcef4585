"""Threading rules for email, pure: which earlier messages and which ticket number
an incoming email points at. The ORM lookups live in channels_app.email.inbound."""

from __future__ import annotations

import re

# Reply and forward prefixes in the clients our customers use; repeated and mixed.
PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|fwd?|fw|tr|wg|回复|回覆|答复|答覆|转发|轉寄|转寄|轉發)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
TICKET_REFERENCE = re.compile(r"\[\s*#\s*(\d{1,18})\s*\]")


def subject_strip_prefixes(subject: str) -> str:
    """'RE: 回复：Fwd: 订单' → '订单' (the ticket reference stays)."""
    previous = None
    subject = (subject or "").strip()
    while previous != subject:
        previous = subject
        subject = PREFIX.sub("", subject).strip()
    return subject


def subject_ticket_number(subject: str) -> int | None:
    """The ticket number in a subject like 'Re: [#10234] 订单', or None."""
    match = TICKET_REFERENCE.search(subject or "")
    return int(match.group(1)) if match else None


def subject_with_reference(subject: str, number: int) -> str:
    """Our outbound subject: 'Re: [#10234] original subject', never doubling the reference or prefix."""
    base = subject_strip_prefixes(subject)
    base = TICKET_REFERENCE.sub("", base).strip()
    return f"Re: [#{number}] {base}".rstrip()


def thread_candidates(*, in_reply_to: list[str], references: list[str]) -> list[str]:
    """Message-IDs to look up, most specific first: In-Reply-To, then References newest first."""
    ordered: list[str] = []
    for message_id in [*in_reply_to, *reversed(references)]:
        if message_id and message_id not in ordered:
            ordered.append(message_id)
    return ordered


def references_for_reply(*, parent_message_id: str, parent_references: list[str], limit: int = 20) -> list[str]:
    """RFC 5322 References of a reply: the parent's References then the parent's id (capped, keeping the first)."""
    chain = [r for r in parent_references if r and r != parent_message_id]
    if parent_message_id:
        chain.append(parent_message_id)
    if len(chain) > limit:
        chain = [chain[0], *chain[-(limit - 1) :]]
    return chain
