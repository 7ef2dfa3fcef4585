"""IMAP IDLE: a running worker fetches a new email as soon as Dovecot announces it,
without the 30-second poll (which these workers do not even run)."""

import signal

import pytest

from channels_app.models import RawEmail
from tests.channels_app.email.test_inbound import make_mailbox
from tests.processes import database_env, manage, wait_for
from ticketing.models import Message


def email(n: int) -> bytes:
    return (
        f"From: 李雷 <lilei-{n}@example.cn>\r\nTo: support@shop.example\r\nSubject: 发票 {n}\r\n"
        f"Message-ID: <idle-{n}@example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n请开发票 {n}\r\n"
    ).encode()


@pytest.mark.django_db(transaction=True)
def test_worker_fetches_new_mail_on_idle_notification(imap):
    imap.deliver(email(1))
    make_mailbox(imap)
    worker = manage("run_worker", "--only", "watch_mailboxes", env=database_env())
    try:
        # The watcher catches up on what arrived before it connected...
        wait_for(lambda: RawEmail.objects.count() == 1, timeout=30, what="the catch-up fetch")
        # ...then sits in IDLE: a new message is fetched on the server's EXISTS, not by polling.
        imap.deliver(email(2))
        wait_for(lambda: Message.objects.filter(external_id="<idle-2@example.cn>").exists(), timeout=20, what="IDLE")
        imap.deliver(email(3), email(4))
        wait_for(lambda: RawEmail.objects.count() == 4, timeout=20, what="the next IDLE round")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        f"<idle-{n}@example.cn>" for n in range(1, 5)
    ]


@pytest.mark.django_db(transaction=True)
def test_once_starts_no_watchers(imap):
    make_mailbox(imap)
    from channels_app.duties import watch_mailboxes

    assert watch_mailboxes() == {}  # not inside a long-running worker
