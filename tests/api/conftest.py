"""API clients that authenticate the way integrators do (`Authorization: Token ...`),
and a small book of customers and tickets spread across the org's scopes."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.identifiers import id_number_check_char, uscc_check_char
from tests import factories


def valid_id_number(first17: str = "11010519900307123") -> str:
    return first17 + id_number_check_char(first17)


def valid_credit_code(first17: str = "91350100M00010000") -> str:
    return first17 + uscc_check_char(first17)


class HttpsAPIClient(APIClient):
    """Production settings redirect plain HTTP to HTTPS; the API is always called over HTTPS.
    Messages are asked for in English (the default language is Simplified Chinese)."""

    def __init__(self, **defaults):
        defaults.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
        super().__init__(**defaults)

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


@pytest.fixture
def api():
    """`api(user)` → an APIClient sending that user's token; `api()` → anonymous."""

    def client_for(user=None) -> APIClient:
        client = HttpsAPIClient()
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@pytest.fixture
def book(org):
    """Customers owned across the org; tickets in the billing and tech queues."""
    billing_q = factories.queue("Billing queue", team_=org.billing_team)
    tech_q = factories.queue("Tech queue", team_=org.tech_team)
    rep_customer = factories.person(
        "张伟", owner=org.sales_rep, emails=["zhang.wei@example.cn"], phones=["13800138000"]
    )
    peer_customer = factories.person("Peer's customer", owner=org.other_rep)
    manager_customer = factories.person("Manager's customer", owner=org.sales_manager)
    walk_in = factories.person("Walk-in", owner=None, emails=["walk.in@example.com"])
    return {
        "billing_q": billing_q,
        "tech_q": tech_q,
        "rep_customer": rep_customer,
        "peer_customer": peer_customer,
        "manager_customer": manager_customer,
        "walk_in": walk_in,
        "billing_ticket": factories.ticket(customer=walk_in, queue_=billing_q, subject="Invoice is wrong"),
        "tech_ticket": factories.ticket(customer=peer_customer, queue_=tech_q, subject="Router keeps rebooting"),
        "assigned_to_zh": factories.ticket(
            customer=rep_customer, queue_=tech_q, assignee=org.agent_zh, subject="Refund for order 8812"
        ),
    }


def ids(response) -> list[int]:
    return sorted(row["id"] for row in response.json()["results"])
