"""Email in: the corpus through `email_ingest`, and the IMAP poller against a real Dovecot."""

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command

from channels_app.email.inbound import (
    email_ingest,
    email_thread_hint,
    mailbox_lease_release,
    mailbox_lease_take,
    mailbox_poll,
    mailboxes_poll_all,
)
from channels_app.email.parse import parse_email
from channels_app.models import Mailbox, RawEmail
from crm.models import Identity
from tests import factories
from ticketing.models import Attachment, DeliveryStatus, Message, Status, Ticket
from ticketing.services import ticket_change_status

CORPUS = Path(__file__).parent / "corpus"


def raw(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def make_mailbox(server=None, **extra) -> Mailbox:
    return Mailbox.objects.create(
        name=extra.pop("name", "Support"),
        imap_host=server.host if server else "127.0.0.1",
        imap_port=server.port if server else 1,
        imap_security="none",
        imap_user=server.user if server else "x",
        imap_password=server.password if server else "x",
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_security="none",
        from_address="support@shop.example",
        from_name="客服",
        **extra,
    )


@pytest.mark.django_db
class TestEmailIngest:
    def test_chinese_email_becomes_a_ticket_on_a_new_customer(self):
        stored = email_ingest(raw=raw("gb2312_plain"))
        ticket = stored.result.ticket
        assert ticket.subject == "订单 1024 什么时候发货？"
        assert ticket.channel == "email" and ticket.language == "zh"
        assert ticket.customer.name == "张三"
        assert Identity.objects.get(value="zhangsan@example.cn").person == ticket.customer
        message = stored.result.message
        assert "还没有发货" in message.body_text
        assert message.external_id == "<20250106101500.1234@example.cn>"
        assert RawEmail.objects.get(message=message).raw == raw("gb2312_plain")

    def test_same_message_twice_is_stored_once(self):
        first = email_ingest(raw=raw("big5_plain"))
        second = email_ingest(raw=raw("big5_plain"))
        assert second.result.created is False
        assert second.result.message.pk == first.result.message.pk
        assert Message.objects.filter(external_id="<big5-1@example.tw>").count() == 1
        assert RawEmail.objects.count() == 1

    def test_message_without_id_is_idempotent_on_the_raw_hash(self):
        email_ingest(raw=raw("missing_headers"))
        email_ingest(raw=raw("missing_headers"))
        assert Message.objects.count() == 1
        message = Message.objects.get()
        assert message.external_id.startswith("sha256:") and message.flagged

    def test_garbage_is_stored_flagged(self):
        stored = email_ingest(raw=raw("garbage"))
        assert stored.result.message.flagged
        assert stored.result.ticket.subject

    def test_attachments_and_inline_images_are_stored(self):
        stored = email_ingest(raw=raw("rfc2231_filename"))
        names = sorted(Attachment.objects.filter(message=stored.result.message).values_list("filename", flat=True))
        assert names == sorted(["销售合同（2025）.pdf", "报价单.xlsx", "清单.txt"])
        stored = email_ingest(raw=raw("related_cid_image"))
        image = Attachment.objects.get(message=stored.result.message)
        assert image.content_id == "image001.png@01DB0000.12345678"
        assert 'src="cid:image001.png@01DB0000.12345678"' in stored.result.message.body_html

    def test_html_is_sanitized(self):
        stored = email_ingest(raw=raw("utf8_alternative"))
        assert "<script" not in stored.result.message.body_html
        assert "<b>#5521</b>" in stored.result.message.body_html

    def test_displayed_text_is_the_new_part_and_the_original_is_kept(self):
        first = email_ingest(raw=raw("gb2312_plain"))
        reply = email_ingest(raw=raw("outlook_reply_zh"))
        assert reply.result.ticket.pk == first.result.ticket.pk  # References names the customer's first message
        assert reply.result.message.body_text == "好的，收到了，谢谢！\n\n张三"
        assert "已经发货" in parse_email(reply.result.message.raw_email.raw).text

    def test_too_large_attachment_is_recorded_not_dropped(self, settings):
        settings.ATTACHMENT_MAX_BYTES = 10
        stored = email_ingest(raw=raw("only_attachment"))
        attachment = Attachment.objects.get(message=stored.result.message)
        assert not attachment.stored and "too large" in attachment.note

    def test_mailbox_default_queue(self, org):
        queue = factories.queue("Email", team_=org.billing_team)
        mailbox = make_mailbox(default_queue=queue)
        stored = email_ingest(raw=raw("latin1_plain"), mailbox=mailbox)
        assert stored.result.ticket.queue == queue
        assert RawEmail.objects.get().mailbox == mailbox


@pytest.mark.django_db
class TestThreading:
    def _ticket_for(self, email: str, subject: str = "Order"):
        customer = factories.person(emails=[email])
        return factories.ticket(customer=customer, subject=subject, channel="email")

    def test_subject_reference_threads_into_the_ticket(self):
        ticket = self._ticket_for("dave@example.com")
        text = raw("subject_reference").replace(b"[#10001]", f"[#{ticket.number}]".encode())
        stored = email_ingest(raw=text)
        assert stored.result.ticket.pk == ticket.pk

    def test_subject_reference_to_someone_elses_ticket_opens_a_new_ticket(self):
        ticket = self._ticket_for("someone-else@example.com")
        text = raw("subject_reference").replace(b"[#10001]", f"[#{ticket.number}]".encode())
        stored = email_ingest(raw=text)
        assert stored.result.ticket.pk != ticket.pk
        assert not stored.result.ticket.events.filter(kind="ticket.follow_up_of").exists()

    def test_in_reply_to_an_earlier_inbound_message(self):
        first = email_ingest(raw=raw("gb2312_plain"))
        hint = email_thread_hint(parse_email(raw("outlook_reply_zh")))
        assert hint == first.result.ticket.pk

    def test_reply_to_a_closed_ticket_opens_a_follow_up(self):
        first = email_ingest(raw=raw("gb2312_plain"))
        ticket = first.result.ticket
        for status in (Status.SOLVED, Status.CLOSED):
            ticket_change_status(ticket=ticket, status=status, by=None)
        reply = email_ingest(raw=raw("outlook_reply_zh"))
        assert reply.result.ticket.pk != ticket.pk
        assert reply.result.ticket.customer == ticket.customer
        assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
        link = reply.result.ticket.events.get(kind="ticket.follow_up_of")
        assert link.data == {"ticket": ticket.pk, "number": ticket.number}
        assert ticket.events.filter(kind="ticket.followed_up").count() == 1

    def test_mailbox_set_to_reopen_threads_a_reply_into_the_closed_ticket(self):
        mailbox = make_mailbox(reopen_closed=True)
        first = email_ingest(raw=raw("gb2312_plain"), mailbox=mailbox)
        ticket = first.result.ticket
        for status in (Status.SOLVED, Status.CLOSED):
            ticket_change_status(ticket=ticket, status=status, by=None)
        reply = email_ingest(raw=raw("outlook_reply_zh"), mailbox=mailbox)
        assert reply.result.ticket.pk == ticket.pk
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN and ticket.closed_at is None and ticket.solved_at is None
        assert ticket.messages.filter(direction="in").count() == 2
        assert not Ticket.objects.exclude(pk=ticket.pk).exists()
        assert ticket.events.filter(kind="ticket.status_changed", data__to=Status.OPEN).exists()

    def test_reply_to_a_solved_ticket_reopens_it(self):
        first = email_ingest(raw=raw("gb2312_plain"))
        ticket_change_status(ticket=first.result.ticket, status=Status.SOLVED, by=None)
        reply = email_ingest(raw=raw("outlook_reply_zh"))
        assert reply.result.ticket.pk == first.result.ticket.pk
        assert Ticket.objects.get(pk=first.result.ticket.pk).status == Status.OPEN

    def test_unknown_references_start_a_new_ticket(self):
        stored = email_ingest(raw=raw("gmail_reply_en"))
        assert stored.result.created and stored.result.ticket.messages.count() == 1


@pytest.mark.django_db
class TestBounces:
    def test_bounce_marks_our_outbound_message_failed(self):
        from channels_app.models import OutboundEmail

        ticket = factories.ticket(channel="email")
        message = Message.objects.create(
            ticket=ticket, direction="out", channel="email", body_text="hi", delivery_status="sent"
        )
        OutboundEmail.objects.create(message=message, email_id="<ticket-10001-reply-1@shop.example>", status="sent")
        stored = email_ingest(raw=raw("bounce_dsn"))
        assert stored.result is None and stored.bounced == [message]
        message.refresh_from_db()
        assert message.delivery_status == DeliveryStatus.FAILED
        assert "5.1.1" in message.delivery_error

    def test_bounce_about_something_unknown_is_kept_as_a_message(self):
        stored = email_ingest(raw=raw("bounce_dsn"))
        assert stored.result is not None and stored.result.created


@pytest.mark.django_db(transaction=True)
class TestImapPoll:
    def test_poll_fetches_every_corpus_message_once(self, imap):
        names = sorted(p.stem for p in CORPUS.glob("*.eml"))
        imap.deliver(*(raw(name) for name in names))
        mailbox = make_mailbox(imap)
        result = mailbox_poll(mailbox=mailbox)
        assert result.fetched == len(names) and result.failed == 0
        mailbox.refresh_from_db()
        client = imap.client()
        client.select_folder("INBOX")
        assert mailbox.last_uid == max(client.search(["ALL"])) and mailbox.uidvalidity
        client.logout()
        assert RawEmail.objects.count() == len(names)
        assert Ticket.objects.filter(subject="退貨申請").exists()
        # Nothing new: nothing fetched; the same bytes appended again are stored once.
        assert mailbox_poll(mailbox=mailbox).fetched == 0
        imap.deliver(raw("big5_plain"))
        again = mailbox_poll(mailbox=mailbox)
        assert again.fetched == 1
        assert Message.objects.filter(external_id="<big5-1@example.tw>").count() == 1
        assert RawEmail.objects.count() == len(names)

    def test_a_mailbox_leased_by_another_worker_is_left_alone(self, imap):
        imap.deliver(raw("gb2312_plain"))
        mailbox = make_mailbox(imap)
        assert mailbox_lease_take(mailbox, owner="other-host:1:1")
        result = mailbox_poll(mailbox=mailbox)
        assert result.busy and result.fetched == 0 and not Message.objects.exists()
        # The other worker finishes (or its lease runs out): the next poll fetches.
        mailbox_lease_release(mailbox, owner="other-host:1:1")
        assert mailbox_poll(mailbox=mailbox).stored == 1
        assert Mailbox.objects.get(pk=mailbox.pk).lease_owner == ""  # released after the poll

    def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over(self, imap):
        imap.deliver(raw("gb2312_plain"))
        mailbox = make_mailbox(imap)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        assert mailbox_lease_take(mailbox, owner=f"{socket.gethostname()}:{dead.pid}:1")
        assert mailbox_poll(mailbox=mailbox).stored == 1

    def test_new_uidvalidity_starts_over_without_doubles(self, imap):
        imap.deliver(raw("gb2312_plain"), raw("big5_plain"))
        mailbox = make_mailbox(imap)
        mailbox_poll(mailbox=mailbox)
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=1)
        mailbox.refresh_from_db()
        assert mailbox_poll(mailbox=mailbox).fetched == 2
        assert Message.objects.count() == 2

    def test_processed_folder(self, imap):
        imap.deliver(raw("gb2312_plain"))
        mailbox = make_mailbox(imap, processed_folder="Processed")
        assert mailbox_poll(mailbox=mailbox).stored == 1
        client = imap.client()
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        assert client.select_folder("Processed")[b"EXISTS"] == 1
        client.logout()

    def test_wrong_password_is_recorded_and_other_mailboxes_go_on(self, imap):
        imap.deliver(raw("gb2312_plain"))
        bad = make_mailbox(imap, name="Bad")
        bad.imap_password = "wrong"
        bad.save()
        good = make_mailbox(imap, name="Good")
        outcome = mailboxes_poll_all()
        assert isinstance(outcome[bad.pk], str)
        assert outcome[good.pk].stored == 1
        bad.refresh_from_db()
        assert "LoginError" in bad.last_error or "auth" in bad.last_error.lower()

    def test_command_once(self, imap):
        imap.deliver(raw("latin1_plain"))
        make_mailbox(imap)
        call_command("poll_mailboxes", "--once")
        assert Message.objects.filter(external_id="<latin1-1@example.de>").count() == 1

    def test_a_failing_message_does_not_stop_the_poller(self, imap, monkeypatch):
        from channels_app.email import inbound

        imap.deliver(raw("gb2312_plain"), raw("big5_plain"))
        real = inbound.email_ingest

        def exploding(*, raw, mailbox=None):
            if b"big5-1" in raw:
                raise RuntimeError("boom")
            return real(raw=raw, mailbox=mailbox)

        monkeypatch.setattr(inbound, "email_ingest", exploding)
        result = mailbox_poll(mailbox=make_mailbox(imap))
        assert result.stored == 2
        kept = Message.objects.get(raw_email__email_id="<big5-1@example.tw>")
        assert kept.flagged

    def test_database_trouble_mid_batch_keeps_what_came_before_and_resumes_there(self, imap, monkeypatch):
        from channels_app.email import inbound

        imap.deliver(raw("gb2312_plain"), raw("big5_plain"), raw("gmail_reply_en"))
        mailbox = make_mailbox(imap)
        real_ingest, real_unreadable = inbound.email_ingest, inbound._store_unreadable

        def broken(*, raw, mailbox=None):
            if b"big5-1" in raw:
                raise RuntimeError("database went away")
            return real_ingest(raw=raw, mailbox=mailbox)

        def broken_too(*, mailbox, raw):
            if b"big5-1" in raw:
                raise RuntimeError("database went away")
            return real_unreadable(mailbox=mailbox, raw=raw)

        monkeypatch.setattr(inbound, "email_ingest", broken)
        monkeypatch.setattr(inbound, "_store_unreadable", broken_too)
        result = mailbox_poll(mailbox=mailbox)
        assert (result.stored, result.failed) == (1, 1)
        assert list(RawEmail.objects.values_list("email_id", flat=True)) == ["<20250106101500.1234@example.cn>"]
        first_uid = Mailbox.objects.get(pk=mailbox.pk).last_uid
        monkeypatch.setattr(inbound, "email_ingest", real_ingest)
        monkeypatch.setattr(inbound, "_store_unreadable", real_unreadable)
        mailbox.refresh_from_db()
        assert mailbox_poll(mailbox=mailbox).stored == 2  # resumes after the last stored UID
        assert RawEmail.objects.count() == 3 and Mailbox.objects.get(pk=mailbox.pk).last_uid == first_uid + 2

    def test_a_batch_publishes_its_events_after_commit_and_none_of_a_rolled_back_message(
        self, imap, monkeypatch, settings
    ):
        from channels_app.email import inbound

        # This process's own layer: a shared Redis carries other test runs' supervisor frames.
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

        imap.deliver(raw("gb2312_plain"), raw("big5_plain"), raw("gmail_reply_en"))
        real = inbound.email_ingest

        def stored_then_broken(*, raw, mailbox=None):
            stored = real(raw=raw, mailbox=mailbox)
            if b"big5-1" in raw:  # its ticket and events were written, then its savepoint rolls back
                raise RuntimeError("boom after the writes")
            return stored

        monkeypatch.setattr(inbound, "email_ingest", stored_then_broken)
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)("supervisors", channel)
        assert mailbox_poll(mailbox=make_mailbox(imap)).stored == 3
        frames = async_to_sync(_drain)(layer, channel)
        created = [f["event"]["ticket"]["id"] for f in frames if f["event"]["kind"] == "ticket.created"]
        # One live ticket.created per stored ticket (the broken one kept flagged), none for the rolled-back one.
        assert sorted(created) == sorted(Ticket.objects.values_list("pk", flat=True)) and len(created) == 3
        assert Message.objects.get(raw_email__email_id="<big5-1@example.tw>").flagged


async def _drain(layer, channel, limit=50):
    frames = []
    for _ in range(limit):
        try:
            frames.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
        except TimeoutError:
            break
    return frames


@pytest.mark.slow
@pytest.mark.django_db
def test_a_50_mb_message_is_stored_with_the_attachment_recorded_as_too_large(settings):
    import base64
    import os

    settings.ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
    big = os.urandom(50 * 1024 * 1024)
    message = (
        b"From: big@example.cn\r\nSubject: =?utf-8?B?5aSn5paH5Lu2?=\r\nMessage-ID: <big-1@example.cn>\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "附件太大了。".encode()
        + b"\r\n--B\r\nContent-Type: application/zip; name=big.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(big)
        + b"\r\n--B--\r\n"
    )
    stored = email_ingest(raw=message)
    assert stored.result.ticket.subject == "大文件"
    attachment = Attachment.objects.get(message=stored.result.message)
    assert attachment.filename == "big.zip" and attachment.size == len(big)
    assert not attachment.stored and "too large" in attachment.note
