import os
from contextlib import contextmanager

import pytest

from knowledge_base import search
from knowledge_base.indexing import index_pending
from tests.knowledge_base.fake_elasticsearch import FakeElasticsearch

BACKENDS = ["database", "elasticsearch-fake"] + (["elasticsearch"] if os.environ.get("ELASTICSEARCH_URL") else [])


@pytest.fixture(params=BACKENDS)
def search_backend(request, settings):
    """Each contract test runs on the database backend, on the Elasticsearch fake, and on the real
    Elasticsearch at ELASTICSEARCH_URL when it is set (with an index name of its own)."""
    search._backend_for.cache_clear()
    if request.param == "database":
        settings.ELASTICSEARCH_URL = ""
        yield request.param
    elif request.param == "elasticsearch-fake":
        with FakeElasticsearch() as fake:
            settings.ELASTICSEARCH_URL = fake.url
            yield request.param
    else:
        settings.ELASTICSEARCH_URL = os.environ["ELASTICSEARCH_URL"]
        settings.ELASTICSEARCH_INDEX = f"test-contact-center-{os.getpid()}"
        yield request.param
        client = search.backend().client
        client.indices.delete(index=f"{settings.ELASTICSEARCH_INDEX}-*", ignore_unavailable=True)
    search._backend_for.cache_clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the after-commit callbacks of the block, as a real commit would, then the worker's
    search_index duty over the records the block queued."""

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield callbacks
        index_pending()

    return run
