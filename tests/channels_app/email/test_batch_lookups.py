"""Look-ups the poller's batch makes once, and the thread hint's shortcuts, answer as before."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.email.inbound import _store_batch, email_thread_hint
from channels_app.email.parse import parse_email
from channels_app.models import OutboundEmail, RawEmail
from crm.models import Person
from crm.services import company_create
from tests import factories
from tests.channels_app.email.test_batch_routing import email
from tests.channels_app.email.test_inbound import make_mailbox
from ticketing.models import Message, Queue, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sender_domains_company_is_looked_up_once_per_batch(org):
    company = company_create(by=None, name="华东贸易", email_domain="example.cn")
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 4)]) == 3
    lookups = [q for q in queries.captured_queries if 'WHERE "crm_company"."email_domain"' in q["sql"]]
    assert len(lookups) == 1
    assert set(Ticket.objects.values_list("company_id", flat=True)) == {company.pk}


def test_a_reply_to_our_email_on_a_merged_ticket_threads_into_the_ticket_it_was_merged_into(org):
    source, target = factories.ticket(channel="email"), factories.ticket(channel="email")
    OutboundEmail.objects.create(ticket=source, email_id="<ours-1@shop.example>", to_address="a@example.cn")
    Ticket.objects.filter(pk=source.pk).update(merged_into=target)
    parsed = parse_email(email(1, in_reply_to="<ours-1@shop.example>"))
    assert email_thread_hint(parsed) == target.pk


def test_a_reply_to_an_earlier_inbound_email_needs_no_look_at_the_outbox(org):
    assert _store_batch(mailbox=make_mailbox(), items=[(1, email(1))]) == 1
    parsed = parse_email(email(2, in_reply_to="<batch-1@example.cn>"))
    ticket = Ticket.objects.get()
    with CaptureQueriesContext(connection) as queries:
        assert email_thread_hint(parsed) == ticket.pk
    assert len(queries.captured_queries) == 1


def test_a_batch_checks_its_message_ids_once_and_a_resend_in_it_is_still_stored_once(org):
    mailbox = make_mailbox()
    assert _store_batch(mailbox=mailbox, items=[(1, email(1))]) == 1
    # a resend of an email already stored, two new ones, and one of them delivered twice in the same batch
    items = [(2, email(1)), (3, email(2)), (4, email(3)), (5, email(2))]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=mailbox, items=items) == 4
    checks = [
        q for q in queries.captured_queries if 'FROM "ticketing_message"' in q["sql"] and "external_id" in q["sql"]
    ]
    assert len(checks) <= 3  # the batch's check, then a look-up for each resend (1 and the second 2) only
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "<batch-1@example.cn>",
        "<batch-2@example.cn>",
        "<batch-3@example.cn>",
    ]
    assert Ticket.objects.count() == 3


def test_a_new_customers_identity_and_company_are_not_read_back_for_their_ticket(org):
    company = company_create(by=None, name="华东贸易", email_domain="example.cn")
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(1, email(1))]) == 1
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if '"crm_personcompany"."is_primary"' in sql.partition("FROM")[2]]
    assert not [sql for sql in sqls if 'WHERE ("crm_identity"."person_id" = ' in sql]
    ticket = Ticket.objects.get()
    assert ticket.company_id == company.pk
    assert Message.objects.get().sender.value == "buyer1@example.cn"


def test_a_batch_looks_for_the_default_queue_once_also_when_there_is_none(org):
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 4)]) == 3
    lookups = [q for q in queries.captured_queries if 'WHERE "ticketing_queue"."is_default"' in q["sql"]]
    assert len(lookups) == 1
    assert set(Ticket.objects.values_list("queue_id", flat=True)) == {None}


def test_the_batch_default_queue_is_where_its_new_tickets_go(org):
    queue = Queue.objects.create(name="Inbox", team=org.billing_team, is_default=True)
    assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 3)]) == 2
    assert set(Ticket.objects.values_list("queue_id", flat=True)) == {queue.pk}


def test_a_batch_takes_one_savepoint_for_its_messages_and_one_for_its_new_customers(org):
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=[(n, email(n)) for n in range(1, 4)]) == 3
    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 2


def test_a_message_failing_in_the_batchs_savepoint_still_fails_alone(org, monkeypatch, caplog):
    from channels_app.email import inbound

    real = inbound.email_mark_bounced

    def exploding(parsed):
        if parsed.message_id == "<batch-2@example.cn>":
            raise RuntimeError("boom")
        return real(parsed)

    monkeypatch.setattr(inbound, "email_mark_bounced", exploding)
    mailbox = make_mailbox()
    items = [(1, email(1)), (2, email(2)), (3, email(3, sender="buyer1@example.cn"))]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=mailbox, items=items) == 3
    # The batch's savepoint rolled back, then one a message (and one more for the flagged one's fallback).
    assert len([q for q in queries.captured_queries if q["sql"].startswith("ROLLBACK TO SAVEPOINT")]) == 2
    assert "storing a message failed" in caplog.text
    flagged = {m.external_id: m.flagged for m in Message.objects.all()}
    assert flagged == {"<batch-1@example.cn>": False, "<batch-2@example.cn>": True, "<batch-3@example.cn>": False}
    assert Ticket.objects.count() == 3 and RawEmail.objects.count() == 3
    assert Message.objects.get(external_id="<batch-3@example.cn>").sender.person.name == "buyer1@example.cn"
    assert Person.objects.filter(identities__value="buyer1@example.cn").count() == 1
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3


def test_a_resend_within_the_batch_is_looked_up_not_failed_on(org):
    items = [(1, email(1)), (2, email(2)), (3, email(1))]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=make_mailbox(), items=items) == 3
    assert not [q for q in queries.captured_queries if q["sql"].startswith("ROLLBACK")]
    assert Message.objects.count() == 2 and RawEmail.objects.count() == 2


def test_an_email_stored_meanwhile_by_another_process_is_not_stored_again_nor_flagged(org, monkeypatch, caplog):
    from channels_app.email import inbound

    mailbox = make_mailbox()
    assert _store_batch(mailbox=mailbox, items=[(1, email(1))]) == 1
    # The batch's check missed it: another process stored it after the check.
    monkeypatch.setattr(inbound, "stored_external_ids", lambda **kwargs: set())
    assert _store_batch(mailbox=mailbox, items=[(2, email(1)), (3, email(2))]) == 2
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "<batch-1@example.cn>",
        "<batch-2@example.cn>",
    ]
    assert not Message.objects.filter(flagged=True).exists()
    assert "storing a message failed" not in caplog.text
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3


def test_a_sender_created_meanwhile_by_another_process_gets_the_message_once_and_unflagged(org, monkeypatch):
    from channels_app.email import batch

    mailbox = make_mailbox()
    assert _store_batch(mailbox=mailbox, items=[(1, email(1))]) == 1
    missed = []

    def stale(**kwargs):  # the batch's look-up misses the identity another process has just committed
        missed.append(kwargs)
        return {}

    monkeypatch.setattr(batch, "identities_find", stale)
    assert _store_batch(mailbox=mailbox, items=[(2, email(2, sender="buyer1@example.cn"))]) == 1
    assert missed
    assert Message.objects.count() == 2 and not Message.objects.filter(flagged=True).exists()
    assert len({m.sender.person_id for m in Message.objects.select_related("sender")}) == 1


def test_the_tickets_a_batch_replies_to_are_read_and_locked_together(org):
    mailbox = make_mailbox()
    assert _store_batch(mailbox=mailbox, items=[(1, email(1)), (2, email(2))]) == 2
    items = [
        (3, email(3, sender="buyer1@example.cn", in_reply_to="<batch-1@example.cn>")),
        (4, email(4, sender="buyer2@example.cn", in_reply_to="<batch-2@example.cn>")),
        (5, email(5, sender="buyer1@example.cn", in_reply_to="<batch-1@example.cn>")),  # the same ticket again
    ]
    with CaptureQueriesContext(connection) as queries:
        assert _store_batch(mailbox=mailbox, items=items) == 3
    per_message = [q for q in queries.captured_queries if '"ticketing_ticket"."customer_id" =' in q["sql"]]
    assert len(per_message) == 1  # only the second reply to one ticket reads it again (it changed in the batch)
    counts = {t.subject: t.messages.count() for t in Ticket.objects.all()}
    assert counts == {"订单 1 还没发货": 3, "订单 2 还没发货": 2}
