"""Elasticsearch specifics, against the fake that speaks its wire format: the alias switch on
reindex and the readiness probe."""

import pytest

from knowledge_base import search
from knowledge_base.models import Category, Status
from knowledge_base.services import article_create
from tests.knowledge_base.fake_elasticsearch import FakeElasticsearch

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    search._backend_for.cache_clear()
    with FakeElasticsearch() as server:
        settings.ELASTICSEARCH_URL = server.url
        yield server
    search._backend_for.cache_clear()


def test_reindex_builds_a_new_index_switches_the_alias_and_drops_the_old(fake, committed):
    with committed():
        category = Category.objects.create(slug="c", name_zh="类", name_en="Cat")
        article_create(
            by=None,
            category=category,
            language="en",
            title="Reset your password",
            body="Steps.",
            status=Status.PUBLISHED,
        )
    (first,) = fake.store.aliases["contact-center-search"]
    search.search_reindex()
    (second,) = fake.store.aliases["contact-center-search"]
    assert second != first
    assert first not in fake.store.indices
    assert search.article_suggestions("reset password", "en")[0]["title"] == "Reset your password"
    assert ("POST", "/_aliases") in fake.store.requests


def test_readiness_names_the_server_version(fake):
    assert search.search_backend_ready() == "ok (elasticsearch 8.15.3)"


def test_readiness_fails_when_the_server_is_gone(settings):
    search._backend_for.cache_clear()
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    try:
        with pytest.raises(Exception):  # noqa: B017 — any connection error makes /readyz report 503
            search.search_backend_ready()
    finally:
        search._backend_for.cache_clear()
