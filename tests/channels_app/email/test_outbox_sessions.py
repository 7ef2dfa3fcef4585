"""The outbox sends a round over SMTP sessions it keeps open, against a real aiosmtpd server that
counts its connections and can refuse, drop or close on cue: every message gets its own outcome,
and nothing is sent twice."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.utils import timezone

from channels_app.email import outbound as outbox
from channels_app.email.inbound import email_ingest
from channels_app.email.outbound import outbox_send_due, outbox_send_one
from channels_app.models import Mailbox, OutboundEmail, OutboundKind, OutboxStatus, RawEmail
from tests.mailservers import free_port
from ticketing.models import DeliveryStatus
from ticketing.services import ticket_reply

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class ScriptedSmtp:
    host: str
    port: int
    messages: list[bytes] = field(default_factory=list)
    connections: int = 0
    quits: int = 0
    logins: int = 0
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)  # RCPT → answer
    close_after: int | None = None  # a connection that accepted this many messages is dropped at the next MAIL
    close_with: str = ""  # "" drops it without a word, "421 …" says so first
    drop_in_data: set[str] = field(default_factory=set)  # recipients whose DATA ends with the connection, unanswered
    max_open: int | None = None  # connections beyond this many at once are closed before the greeting
    open_now: int = 0

    def message_ids(self) -> Counter:
        return Counter(message_from_bytes(raw, policy=default_policy)["Message-ID"] for raw in self.messages)


@contextmanager
def scripted_smtp(*, credentials: tuple[str, str] | None = None):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult

    state = ScriptedSmtp(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if state.close_after is not None and getattr(session, "accepted", 0) >= state.close_after:
                if state.close_with:
                    await server.push(state.close_with)
                server.transport.close()
                return "250 OK"  # never reaches the client
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in state.refuse:
                code, text = state.refuse[address]
                return f"{code} {text}"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if state.drop_in_data & set(envelope.rcpt_tos):
                server.transport.close()
                return "250 OK"  # never reaches the client
            state.messages.append(envelope.original_content or envelope.content)
            session.accepted = getattr(session, "accepted", 0) + 1
            return "250 Message accepted"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = credentials is not None and (auth_data.login.decode(), auth_data.password.decode()) == credentials
        state.logins += ok
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            state.connections += 1
            state.open_now += 1
            super().connection_made(transport)
            if state.max_open is not None and state.open_now > state.max_open:
                transport.close()

        def connection_lost(self, exc):
            state.open_now -= 1
            super().connection_lost(exc)

        async def smtp_QUIT(self, arg):
            state.quits += 1
            await super().smtp_QUIT(arg)

    class ScriptedController(Controller):
        def factory(self):
            if credentials is None:
                return CountingSMTP(self.handler)
            return CountingSMTP(self.handler, authenticator=authenticate, auth_required=True, auth_require_tls=False)

    controller = ScriptedController(Handler(), hostname=state.host, port=state.port)
    controller.start()
    state.connections = 0  # start() made one to see the server up
    try:
        yield state
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    with scripted_smtp() as server:
        yield server


def mailbox_on(server, **extra) -> Mailbox:
    return Mailbox.objects.create(
        name=extra.pop("name", "Support"),
        imap_host="127.0.0.1",
        imap_port=1,
        imap_security="none",
        imap_user="x",
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        from_address="support@shop.example",
        **extra,
    )


def queue_notices(mailbox: Mailbox, count: int, *, first: int = 0) -> list[OutboundEmail]:
    """Outbox rows that need no ticket: one to each of customer<n>@example.cn."""
    return [
        OutboundEmail.objects.create(
            kind=OutboundKind.ACKNOWLEDGEMENT,
            mailbox=mailbox,
            to_address=f"customer{n}@example.cn",
            subject=f"已收到您的邮件 {n}",
            body_text=f"您好，我们已收到您的邮件（{n}）。",
            email_id=f"<notice-{n}@shop.example>",
        )
        for n in range(first, first + count)
    ]


def statuses() -> dict[str, str]:
    return dict(OutboundEmail.objects.values_list("to_address", "status"))


def test_a_round_goes_over_one_session_and_quits(smtp):
    queue_notices(mailbox_on(smtp), 4)
    assert outbox_send_due() == 4
    assert (smtp.connections, smtp.quits) == (1, 1)
    assert set(smtp.message_ids().values()) == {1} and len(smtp.messages) == 4
    assert set(statuses().values()) == {OutboxStatus.SENT}


def test_a_big_round_uses_a_few_parallel_sessions_and_keeps_them_between_chunks(smtp):
    queue_notices(mailbox_on(smtp), 60)
    assert outbox_send_due(limit=60) == 60  # three chunks of RECORD_EVERY
    assert smtp.connections == 4  # not 60
    assert smtp.message_ids() == Counter({f"<notice-{n}@shop.example>": 1 for n in range(60)})
    assert set(statuses().values()) == {OutboxStatus.SENT}


def test_one_recipient_refused_for_good_while_the_others_go_over_the_same_session(smtp):
    queue_notices(mailbox_on(smtp), 6)
    smtp.refuse["customer2@example.cn"] = (550, "5.1.1 User unknown")
    assert outbox_send_due() == 6
    assert smtp.connections == 1 and len(smtp.messages) == 5
    refused = OutboundEmail.objects.get(to_address="customer2@example.cn")
    assert refused.status == OutboxStatus.FAILED and "User unknown" in refused.last_error
    assert list(statuses().values()).count(OutboxStatus.SENT) == 5


def test_a_4xx_is_retried_later_for_that_message_only(smtp):
    queue_notices(mailbox_on(smtp), 5)
    smtp.refuse["customer3@example.cn"] = (451, "4.3.0 Try again later")
    outbox_send_due()
    later = OutboundEmail.objects.get(to_address="customer3@example.cn")
    assert later.status == OutboxStatus.QUEUED and later.attempts == 1 and "Try again" in later.last_error
    assert later.next_attempt_at > timezone.now()
    assert len(smtp.messages) == 4 and smtp.connections == 1
    assert outbox_send_due() == 0  # not due yet
    del smtp.refuse["customer3@example.cn"]
    OutboundEmail.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now())
    assert outbox_send_due() == 1
    assert set(statuses().values()) == {OutboxStatus.SENT}
    assert set(smtp.message_ids().values()) == {1} and len(smtp.messages) == 5


@pytest.mark.parametrize("close_with", ["", "421 4.7.0 Too many messages, closing"])
def test_a_server_that_closes_the_session_after_each_few_messages_gets_the_rest_over_new_ones(smtp, close_with):
    smtp.close_after, smtp.close_with = 3, close_with
    queue_notices(mailbox_on(smtp), 8)
    assert outbox_send_due() == 8
    # Those accepted before the close are sent, the next one was never handed over: all go this round, once each.
    assert set(statuses().values()) == {OutboxStatus.SENT}
    assert smtp.message_ids() == Counter({f"<notice-{n}@shop.example>": 1 for n in range(8)})
    assert smtp.connections == 3
    assert outbox_send_due() == 0


def test_a_connection_lost_during_data_retries_that_message_later_and_the_others_go(smtp):
    smtp.drop_in_data.add("customer1@example.cn")
    queue_notices(mailbox_on(smtp), 5)
    assert outbox_send_due() == 5
    lost = OutboundEmail.objects.get(to_address="customer1@example.cn")
    # Nobody knows whether the server kept it: not sent again at once, retried with backoff.
    assert lost.status == OutboxStatus.QUEUED and "connection lost during DATA" in lost.last_error
    assert lost.next_attempt_at > timezone.now()
    assert len(smtp.messages) == 4 and smtp.connections == 2
    smtp.drop_in_data.clear()
    OutboundEmail.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now())
    assert outbox_send_due() == 1
    assert set(smtp.message_ids().values()) == {1} and len(smtp.messages) == 5


def test_sessions_beyond_what_the_server_allows_retire_and_the_others_carry_the_round(smtp):
    smtp.max_open = 2
    queue_notices(mailbox_on(smtp), 25)
    assert outbox_send_due() == 25
    assert smtp.connections == 4  # two were closed at once
    assert smtp.message_ids() == Counter({f"<notice-{n}@shop.example>": 1 for n in range(25)})
    assert set(statuses().values()) == {OutboxStatus.SENT}


def test_a_server_that_keeps_dropping_the_session_stops_the_round_for_its_mailbox_only(smtp):
    smtp.close_after, smtp.close_with = 0, ""  # every MAIL loses the connection
    queue_notices(mailbox_on(smtp), 3)
    with scripted_smtp() as healthy:
        queue_notices(mailbox_on(healthy, name="Sales"), 3, first=10)
        assert outbox_send_due() == 6
        assert len(healthy.messages) == 3
    assert smtp.connections == 2 and smtp.messages == []  # one reconnect, then the mailbox waits for its backoff
    broken = OutboundEmail.objects.filter(mailbox__name="Support")
    assert {(row.status, row.attempts) for row in broken} == {(OutboxStatus.QUEUED, 1)}
    assert all(row.next_attempt_at > timezone.now() for row in broken)


def test_an_unreachable_server_leaves_its_messages_queued_with_backoff():
    mailbox = Mailbox.objects.create(
        name="Down",
        imap_host="127.0.0.1",
        imap_port=1,
        imap_security="none",
        imap_user="x",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        from_address="support@shop.example",
    )
    queue_notices(mailbox, 30)
    assert outbox_send_due() == 30
    rows = OutboundEmail.objects.all()
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.QUEUED, 1)}
    assert all("Connect" in row.last_error or "connect" in row.last_error for row in rows)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_happens_once_per_session_and_a_refused_login_is_retried_not_failed():
    with scripted_smtp(credentials=("support", "s3cret-密码")) as server:
        good = mailbox_on(server, smtp_user="support", smtp_password="s3cret-密码")
        queue_notices(good, 4)
        assert outbox_send_due() == 4
        assert (server.connections, server.logins, len(server.messages)) == (1, 1, 4)

        wrong = mailbox_on(server, name="Wrong", smtp_user="support", smtp_password="nope")
        queue_notices(wrong, 2, first=10)
        assert outbox_send_due() == 2
        assert len(server.messages) == 4
        refused = OutboundEmail.objects.filter(mailbox=wrong)
        assert {row.status for row in refused} == {OutboxStatus.QUEUED}
        assert all("535" in row.last_error for row in refused)


def _customer_ticket(mailbox: Mailbox, n: int):
    raw = (
        f"From: customer{n}@example.cn\r\nTo: support@shop.example\r\nSubject: 订单 {n}\r\n"
        f"Message-ID: <order-{n}@example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n订单 {n} 还没发货\r\n"
    ).encode()
    return email_ingest(raw=raw, mailbox=mailbox).result.ticket


def test_replies_on_many_tickets_are_recorded_on_their_messages_with_the_raw_mail_sent(org, smtp):
    mailbox = mailbox_on(smtp)
    tickets = [_customer_ticket(mailbox, n) for n in range(6)]
    smtp.refuse["customer4@example.cn"] = (550, "5.1.1 User unknown")
    replies = [
        ticket_reply(ticket=ticket, by=org.agent_zh, body_text=f"已发货 {n}") for n, ticket in enumerate(tickets)
    ]
    assert outbox_send_due() == 6
    assert smtp.connections == 1
    for n, reply in enumerate(replies):
        reply.refresh_from_db()
        if n == 4:
            assert reply.delivery_status == DeliveryStatus.FAILED and "User unknown" in reply.delivery_error
            assert not RawEmail.objects.filter(message=reply).exists()
            continue
        assert reply.delivery_status == DeliveryStatus.SENT
        sent = message_from_bytes(RawEmail.objects.get(message=reply).raw, policy=default_policy)
        assert sent["To"] == f"customer{n}@example.cn"
        assert sent["In-Reply-To"] == f"<order-{n}@example.cn>"
        assert sent.get_body(("plain",)).get_content().strip() == f"已发货 {n}"
    received = {message_from_bytes(raw, policy=default_policy)["To"] for raw in smtp.messages}
    assert received == {f"customer{n}@example.cn" for n in (0, 1, 2, 3, 5)}


def test_rows_claimed_by_another_worker_are_skipped(smtp):
    rows = queue_notices(mailbox_on(smtp), 4)
    assert sorted(outbox._claim_many([rows[1].pk, rows[2].pk])) == [rows[1].pk, rows[2].pk]
    assert outbox_send_due() == 2  # the other two are another worker's until their claim expires
    assert statuses() == {
        "customer0@example.cn": OutboxStatus.SENT,
        "customer1@example.cn": OutboxStatus.SENDING,
        "customer2@example.cn": OutboxStatus.SENDING,
        "customer3@example.cn": OutboxStatus.SENT,
    }
    assert outbox._claim_many([row.pk for row in rows]) == []
    OutboundEmail.objects.filter(status=OutboxStatus.SENDING).update(claimed_until=timezone.now())
    assert sorted(outbox._claim_many([row.pk for row in rows])) == [rows[1].pk, rows[2].pk]


def test_two_workers_sending_rounds_at_once_send_each_message_once(smtp):
    queue_notices(mailbox_on(smtp), 40)
    errors, counts = [], []

    def worker():
        from django.db import connection

        try:
            counts.append(outbox_send_due(limit=40))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sum(counts) == 40
    assert smtp.message_ids() == Counter({f"<notice-{n}@shop.example>": 1 for n in range(40)})
    assert set(statuses().values()) == {OutboxStatus.SENT}


def test_send_one_shares_the_session_code(smtp):
    (row,) = queue_notices(mailbox_on(smtp), 1)
    assert outbox._claim(row.pk)
    row = OutboundEmail.objects.select_related("mailbox").get(pk=row.pk)
    assert outbox_send_one(row) == OutboxStatus.SENT
    assert (smtp.connections, smtp.quits, len(smtp.messages)) == (1, 1, 1)
