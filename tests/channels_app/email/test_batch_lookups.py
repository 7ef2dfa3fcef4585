"""Look-ups the poller's batch makes once, and the thread hint's shortcuts, answer as before."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.email.inbound import _store_batch, email_thread_hint
from channels_app.email.parse import parse_email
from channels_app.models import OutboundEmail
from crm.services import company_create
from tests import factories
from tests.channels_app.email.test_batch_routing import email
from tests.channels_app.email.test_inbound import make_mailbox
from ticketing.models import Ticket

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
