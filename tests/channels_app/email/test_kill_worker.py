"""SIGKILL a real worker process while it ingests a mailbox, restart it: every message
is stored exactly once."""

import signal

import pytest

from channels_app.models import Mailbox, RawEmail
from tests.channels_app.email.test_inbound import make_mailbox
from tests.processes import database_env, manage, wait_for
from ticketing.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

COUNT = 120


def numbered(n: int) -> bytes:
    body = f"第 {n} 封邮件：订单问题。\n".encode("gbk") * 20
    return (
        f"From: customer{n % 7}@example.cn\r\nTo: support@shop.example\r\n"
        f"Subject: =?utf-8?B?5ZKo6K+i?= {n}\r\nMessage-ID: <kill-{n}@example.cn>\r\n"
        "Content-Type: text/plain; charset=gb2312\r\n\r\n"
    ).encode() + body


def test_sigkill_mid_ingestion_then_restart_stores_every_message_once(imap):
    imap.deliver(*(numbered(n) for n in range(COUNT)))
    client = imap.client()
    client.select_folder("INBOX")
    uids = sorted(client.search(["ALL"]))  # UIDs keep growing across tests: not 1..COUNT
    client.logout()
    mailbox = make_mailbox(imap)
    env = database_env()

    first = manage("run_worker", "--only", "poll_mailboxes", env=env)
    try:
        wait_for(lambda: RawEmail.objects.count() >= 5, timeout=60, every=0.02, what="ingestion to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    stored_at_kill = RawEmail.objects.count()
    assert stored_at_kill < COUNT, "the worker finished before it was killed: raise COUNT"
    mailbox.refresh_from_db()
    assert mailbox.last_uid == uids[stored_at_kill - 1]  # bookkeeping committed with each message, never ahead

    second = manage("run_worker", "--only", "poll_mailboxes", env=env)
    try:
        wait_for(lambda: RawEmail.objects.count() >= COUNT, timeout=120, what="the second worker to finish")
        wait_for(lambda: Mailbox.objects.get(pk=mailbox.pk).last_uid == uids[-1], timeout=30, what="the last UID")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    ids = list(Message.objects.values_list("external_id", flat=True))
    assert len(ids) == COUNT
    assert sorted(ids) == sorted(f"<kill-{n}@example.cn>" for n in range(COUNT))
    assert RawEmail.objects.count() == COUNT
