"""Long scoped lists count exactly up to a cap, then say "more than"."""

import pytest
from rest_framework.authtoken.models import Token

from contact_center.pagination import CappedCountPaginator
from crm.models import Person
from tests import factories


@pytest.fixture
def six_people(db):
    return [factories.person(f"P{n}") for n in range(6)]


def test_count_is_exact_below_the_cap(six_people, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 10)
    paginator = CappedCountPaginator(Person.objects.order_by("id"), 2)
    page = paginator.page(1)
    assert (paginator.count, paginator.count_is_exact, paginator.num_pages) == (6, True, 3)
    assert len(page.object_list) == 2


def test_count_stops_at_the_cap_and_the_next_page_is_still_reachable(six_people, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 4)
    paginator = CappedCountPaginator(Person.objects.order_by("id"), 2)
    page = paginator.page(2)
    assert (paginator.display_count, paginator.count_is_exact) == (4, False)
    assert page.has_next()
    deep = CappedCountPaginator(Person.objects.order_by("id"), 2)
    last = deep.page(3)  # beyond the cap: counted exactly
    assert (deep.count, deep.count_is_exact, last.has_next()) == (6, True, False)
    assert [p.name for p in last.object_list] == ["P4", "P5"]


def test_api_says_whether_the_count_is_exact(org, client, six_people, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 3)
    token = Token.objects.create(user=org.supervisor)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    body = client.get("/api/v1/customers/?page_size=2", secure=True, **auth).json()
    assert (body["count"], body["count_is_exact"]) == (3, False)
    assert body["next"]
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 1000)
    body = client.get("/api/v1/customers/?page_size=2", secure=True, **auth).json()
    assert (body["count"], body["count_is_exact"]) == (6, True)


def test_pages_say_more_than_when_the_count_is_capped(org, client, six_people, monkeypatch):
    for n in range(24):
        factories.person(f"Q{n}")
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 26)  # 30 customers, 25 a page
    client.force_login(org.supervisor)
    page = client.get("/customers/", secure=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "More than 26 customers" in page
    assert "Page 1" in page and "Page 1 of" not in page
