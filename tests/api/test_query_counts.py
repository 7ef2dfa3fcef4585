"""The hot lists cost a fixed number of queries, whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.services import company_create, person_link_company, person_update
from tests import factories
from ticketing.services import ticket_update

# Token+user 1, permissions 2, record-scope grant 2, count 1, page 1, then one per prefetch
# (tickets: tags; customers: identities, tags, companies). Measured, then pinned.
TICKET_LIST_MAX = 8
CUSTOMER_LIST_MAX = 10


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(url)
    assert answer.status_code == 200
    return len(captured)


def add_tickets(org, queue, n: int, *, start: int) -> None:
    company = company_create(by=None, name=f"Co {start}")
    for i in range(start, start + n):
        customer = factories.person(owner=org.sales_rep, phones=[f"1391234{i:04d}"])
        person_link_company(person=customer, company=company)
        person_update(person=customer, by=None, tags=["vip", f"t{i % 3}"])
        ticket = factories.ticket(customer=customer, queue_=queue, assignee=org.agent_zh if i % 2 else None)
        ticket_update(ticket=ticket, by=None, tags=["billing", f"t{i % 3}"])


@pytest.mark.parametrize("user_name", ["supervisor", "agent_zh"])
def test_ticket_list_queries_do_not_grow_with_the_page(org, api, django_assert_max_num_queries, user_name):
    client = api(getattr(org, user_name))
    queue = factories.queue(team_=org.billing_team)
    add_tickets(org, queue, 2, start=0)
    few = queries_for(client, "/api/v1/tickets/?page_size=200")
    add_tickets(org, queue, 30, start=2)
    with django_assert_max_num_queries(TICKET_LIST_MAX):
        answer = client.get("/api/v1/tickets/?page_size=200")
    assert answer.json()["count"] == 32
    assert queries_for(client, "/api/v1/tickets/?page_size=200") == few


@pytest.mark.parametrize("user_name", ["supervisor", "sales_rep"])
def test_customer_list_queries_do_not_grow_with_the_page(org, api, django_assert_max_num_queries, user_name):
    client = api(getattr(org, user_name))
    queue = factories.queue(team_=org.billing_team)
    add_tickets(org, queue, 2, start=0)
    few = queries_for(client, "/api/v1/customers/?page_size=200")
    add_tickets(org, queue, 30, start=2)
    with django_assert_max_num_queries(CUSTOMER_LIST_MAX):
        answer = client.get("/api/v1/customers/?page_size=200")
    assert answer.json()["count"] == 32
    assert queries_for(client, "/api/v1/customers/?page_size=200") == few
