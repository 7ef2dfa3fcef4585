"""Automatic acknowledgements: one per new ticket, never to machines, lists or ourselves,
rate-limited per sender, sent through the outbox marked as automatic."""

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from channels_app.email.inbound import email_ingest
from channels_app.email.loops import ACKNOWLEDGEMENTS_PER_HOUR, acknowledgement_refusal, acknowledgement_text
from channels_app.email.outbound import outbox_send_due
from channels_app.email.parse import parse_email
from channels_app.models import Mailbox, OutboundEmail, OutboxStatus
from ticketing.models import Message

CORPUS = Path(__file__).parent / "corpus"


def raw(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def simple(sender: str, n: int, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@shop.example\r\nSubject: question {n}\r\n"
        f"Message-ID: <ack-{n}-{sender}>\r\n{extra}\r\nhello {n}\r\n"
    ).encode()


class TestRules:
    @pytest.mark.parametrize(
        "name, reason",
        [
            ("auto_reply_zh", "auto-reply"),
            ("out_of_office_en", "auto-reply"),
            ("mailing_list", "mailing list"),
            ("bounce_dsn", "bounce"),
            ("missing_headers", "no sender address"),
            ("gb2312_plain", ""),
        ],
    )
    def test_corpus(self, name, reason):
        assert acknowledgement_refusal(parsed=parse_email(raw(name)), our_addresses=set(), sent_last_hour=0) == reason

    @pytest.mark.parametrize(
        "sender, refused",
        [
            ("noreply@x.com", True),
            ("no-reply@x.com", True),
            ("do_not_reply@x.com", True),
            ("notifications@github.com", True),
            ("norah@x.com", False),
        ],
    )
    def test_no_reply_senders(self, sender, refused):
        parsed = parse_email(simple(sender, 1))
        assert bool(acknowledgement_refusal(parsed=parsed, our_addresses=set(), sent_last_hour=0)) is refused

    def test_ourselves_and_rate_limit(self):
        parsed = parse_email(simple("Support@Shop.example", 1))
        assert acknowledgement_refusal(parsed=parsed, our_addresses={"support@shop.example"}, sent_last_hour=0)
        parsed = parse_email(simple("a@b.cn", 1))
        limit = ACKNOWLEDGEMENTS_PER_HOUR
        assert acknowledgement_refusal(parsed=parsed, our_addresses=set(), sent_last_hour=limit) == "rate limit"
        assert acknowledgement_refusal(parsed=parsed, our_addresses=set(), sent_last_hour=limit - 1) == ""

    def test_text(self):
        assert "#10001" in acknowledgement_text("", number=10001)
        assert acknowledgement_text("工单 {number}", number=7) == "工单 7"


@pytest.mark.django_db(transaction=True)
class TestFlow:
    def mailbox(self, smtp_server) -> Mailbox:
        return Mailbox.objects.create(
            name="Support",
            imap_host="127.0.0.1",
            imap_user="support@shop.example",
            smtp_host=smtp_server.host,
            smtp_port=smtp_server.port,
            smtp_security="none",
            from_address="support@shop.example",
            auto_acknowledge=True,
        )

    def test_new_ticket_is_acknowledged_once_and_the_answer_threads_back(self, smtp_server):
        mailbox = self.mailbox(smtp_server)
        stored = email_ingest(raw=raw("gb2312_plain"), mailbox=mailbox)
        ack = stored.acknowledgement
        assert ack is not None and ack.to_address == "zhangsan@example.cn"
        assert email_ingest(raw=raw("gb2312_plain"), mailbox=mailbox).acknowledgement is None  # same message again
        assert outbox_send_due() == 1
        (sent_raw,) = smtp_server.messages
        sent = message_from_bytes(sent_raw, policy=default_policy)
        assert sent["Auto-Submitted"] == "auto-replied"
        assert sent["In-Reply-To"] == "<20250106101500.1234@example.cn>"
        assert f"[#{stored.result.ticket.number}]" in sent["Subject"]
        assert OutboundEmail.objects.get(pk=ack.pk).status == OutboxStatus.SENT
        # The acknowledgement shows in the conversation as sent, by nobody, and is not an agent's
        # reply: the first-response timer keeps running.
        shown = stored.result.ticket.messages.get(direction="out")
        assert shown.author is None and shown.delivery_status == "sent"
        assert shown.body_text == ack.body_text and str(stored.result.ticket.number) in shown.body_text
        stored.result.ticket.refresh_from_db()
        assert stored.result.ticket.first_response_at is None
        answer = (
            f"From: zhangsan@example.cn\r\nSubject: Re: thanks\r\nMessage-ID: <answer-ack@example.cn>\r\n"
            f"In-Reply-To: {ack.email_id}\r\n\r\nmore details\r\n"
        ).encode()
        follow_up = email_ingest(raw=answer, mailbox=mailbox)
        assert follow_up.result.ticket.pk == stored.result.ticket.pk
        assert follow_up.acknowledgement is None  # not a new ticket

    def test_auto_replies_and_lists_get_nothing(self, smtp_server):
        mailbox = self.mailbox(smtp_server)
        for name in ("auto_reply_zh", "out_of_office_en", "mailing_list", "bounce_dsn"):
            stored = email_ingest(raw=raw(name), mailbox=mailbox)
            assert stored.acknowledgement is None and stored.acknowledgement_refused
        assert not OutboundEmail.objects.exists()

    def test_rate_limited_per_sender(self, smtp_server):
        mailbox = self.mailbox(smtp_server)
        results = [email_ingest(raw=simple("flood@example.com", n), mailbox=mailbox) for n in range(6)]
        assert sum(r.acknowledgement is not None for r in results) == ACKNOWLEDGEMENTS_PER_HOUR
        assert results[-1].acknowledgement_refused == "rate limit"
        assert email_ingest(raw=simple("other@example.com", 99), mailbox=mailbox).acknowledgement is not None

    def test_two_responders_do_not_loop(self, smtp_server):
        """Their responder answers our acknowledgement: it is an auto-reply, so we stay quiet."""
        mailbox = self.mailbox(smtp_server)
        stored = email_ingest(raw=simple("robot@example.com", 1), mailbox=mailbox)
        outbox_send_due()
        reply = simple(
            "robot@example.com",
            2,
            f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {stored.acknowledgement.email_id}\r\n",
        )
        again = email_ingest(raw=reply, mailbox=mailbox)
        assert again.acknowledgement is None
        assert len(smtp_server.messages) == 1
        # Their message, our acknowledgement, their auto-reply, on one ticket; nothing more.
        assert list(Message.objects.values_list("direction", "ticket")) == [
            ("in", stored.result.ticket.pk),
            ("out", stored.result.ticket.pk),
            ("in", stored.result.ticket.pk),
        ]

    def test_off_by_default(self, smtp_server):
        mailbox = self.mailbox(smtp_server)
        Mailbox.objects.filter(pk=mailbox.pk).update(auto_acknowledge=False)
        mailbox.refresh_from_db()
        assert email_ingest(raw=raw("gb2312_plain"), mailbox=mailbox).acknowledgement is None
