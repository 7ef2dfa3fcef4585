"""A small contact center for the page tests: two teams' queues, a ticket in each,
customers owned by sales reps, and a customer with an ID number."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test import Client

from crm.models import Company, Person
from crm.services import company_create, person_link_company
from tests import factories
from ticketing.models import Ticket

ID_NUMBER = "11010519491231002X"


class HttpsClient(Client):
    """Every request over HTTPS, as in production (plain HTTP is redirected there)."""

    def generic(self, *args, **kwargs):
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)


@pytest.fixture
def client() -> Client:
    return HttpsClient()


@dataclass
class Desk:
    billing_ticket: Ticket  # billing team's queue: agent_zh sees it
    tech_ticket: Ticket  # tech team's queue: agent_zh does not
    billing_customer: Person
    tech_customer: Person
    rep_customer: Person  # owned by sales_rep, no ticket
    company: Company


def off_the_event_loop(function, *args):
    """Browser tests run Playwright's event loop in the test thread, and publishing a ticket event
    after commit needs a thread without one: there (transactional tests only), build in another."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)

    def build():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(build).result()


@pytest.fixture
def desk(org) -> Desk:
    return off_the_event_loop(_desk, org)


def _desk(org) -> Desk:
    billing = factories.queue("Billing", team_=org.billing_team, is_default=True)
    tech = factories.queue("Tech", team_=org.tech_team)
    company = company_create(by=None, name="上海示例贸易有限公司", industry="Trade", owner=org.sales_rep)
    billing_customer = factories.person("张伟", emails=["zhang.wei@example.cn"], id_number=ID_NUMBER)
    person_link_company(person=billing_customer, company=company, title="采购经理")
    tech_customer = factories.person("Alice Smith", emails=["alice@example.com"])
    return Desk(
        billing_ticket=factories.ticket(
            customer=billing_customer,
            queue_=billing,
            subject="发票抬头错误",
            channel="email",
            body_text="发票抬头写错了",
        ),
        tech_ticket=factories.ticket(customer=tech_customer, queue_=tech, subject="Login broken", channel="chat"),
        billing_customer=billing_customer,
        tech_customer=tech_customer,
        rep_customer=factories.person("王芳", owner=org.sales_rep),
        company=company,
    )
