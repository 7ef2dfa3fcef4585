"""The built-in backend ranks at most RANKED matches of a common-word query (the newest, plus the
newest matching every word; all of them when too few of those are visible); here RANKED is 3 so
that six tickets make a word common, and searches ask for 2 results."""

import pytest

from knowledge_base import search
from knowledge_base.backends import database
from knowledge_base.search import search_global
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def bounded(settings, monkeypatch):
    settings.ELASTICSEARCH_URL = ""
    search._backend_for.cache_clear()
    monkeypatch.setattr(database, "RANKED", 3)
    yield
    search._backend_for.cache_clear()


def tickets_one_commit_each(committed, specs):
    """Tickets indexed oldest first, each in its own commit (one commit indexes in no set order)."""
    made = []
    for subject, team in specs:
        with committed():
            made.append(factories.ticket(subject=subject, body_text="Please help", queue_=factories.queue(team_=team)))
    return made


def ids(results):
    return [r["id"] for r in results]


def test_a_common_word_ranks_the_newest_matches_and_every_word_still_finds_an_old_ticket(org, bounded, committed):
    specs = [("Refund for the zebra lamp", org.tech_team)] + [(f"Refund request {n}", org.tech_team) for n in range(5)]
    oldest, *newer = tickets_one_commit_each(committed, specs)
    assert set(ids(search_global(org.supervisor, "refund", kind="ticket", limit=2))) <= {t.pk for t in newer[-3:]}
    assert ids(search_global(org.supervisor, "refund zebra", kind="ticket", limit=2))[0] == oldest.pk
    assert ids(search_global(org.supervisor, "zebra", kind="ticket")) == [oldest.pk]


def test_an_agent_whose_only_match_is_old_still_finds_it(org, bounded, committed):
    specs = [("Refund for a damaged parcel", org.billing_team)] + [(f"Refund {n}", org.tech_team) for n in range(5)]
    billing, *_ = tickets_one_commit_each(committed, specs)
    assert ids(search_global(org.agent_zh, "refund", kind="ticket", limit=2)) == [billing.pk]
    assert len(search_global(org.agent_en, "refund", kind="ticket", limit=2)) == 2
