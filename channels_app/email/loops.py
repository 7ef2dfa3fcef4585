"""When we may answer an email automatically, pure: never to machines, lists, ourselves,
or the same sender too often (two auto-responders answering each other forever)."""

from __future__ import annotations

import re

from channels_app.email.parse import ParsedEmail

ACKNOWLEDGEMENTS_PER_HOUR = 3
NO_REPLY_SENDER = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|bounces?|notifications?)([+@-]|$)", re.I
)
DEFAULT_ACKNOWLEDGEMENT = (
    "您好，我们已收到您的邮件，工单号 #{number}。客服会尽快回复您；回复本邮件即可补充信息。\n\n"
    "Hello, we have received your email: ticket #{number}. An agent will answer soon; "
    "reply to this email to add anything.\n"
)


def acknowledgement_refusal(*, parsed: ParsedEmail, our_addresses: set[str], sent_last_hour: int) -> str:
    """Why this email must not get an automatic acknowledgement, or "" when it may."""
    sender = (parsed.from_address or "").strip().lower()
    if parsed.bounce:
        return "bounce"
    if parsed.auto_submitted:
        return "auto-reply"
    if parsed.mailing_list:
        return "mailing list"
    if parsed.bulk:
        return "bulk mail"
    if not sender or "@" not in sender:
        return "no sender address"
    if sender in {address.lower() for address in our_addresses}:
        return "sent by one of our mailboxes"
    if NO_REPLY_SENDER.match(sender):
        return "no-reply sender"
    if sent_last_hour >= ACKNOWLEDGEMENTS_PER_HOUR:
        return "rate limit"
    return ""


def acknowledgement_text(template: str, *, number: int) -> str:
    return (template or DEFAULT_ACKNOWLEDGEMENT).replace("{number}", str(number))
