"""The search benchmark's pieces on tiny data, so `python -m bench.search` cannot rot."""

import random

import pytest

from bench import search as bench_search
from knowledge_base import search
from knowledge_base.backends import database
from knowledge_base.models import Article, Category


@pytest.mark.django_db
def test_generated_articles_and_the_report(org, settings):
    category = Category.objects.create(slug="bench", name_zh="基准", name_en="Bench")
    Article.objects.bulk_create(bench_search._generated_articles(20, category, random.Random(1)))
    assert Article.objects.count() == 20
    settings.ELASTICSEARCH_URL = ""
    search._backend_for.cache_clear()
    search.search_reindex()
    agreement = bench_search._bounded_agreement(org.admin, ["refund", "password"])
    assert agreement == {"ranked": database.RANKED, "queries": 2, "top1": 2, "top5": 2}
    assert bench_search._percentile([1, 2, 3, 4, 100], 0.95) == 100
    result = {
        "database": "sqlite",
        "recall_at_5": 0.9,
        "mrr": 0.8,
        "documents": 40,
        "docs_per_second": 1000.0,
        "latency_ms": {"articles": {"p50": 1.0, "p95": 2.0, "n": 5}},
        "bounded_agreement": {"ranked": 2000, "queries": 55, "top1": 54, "top5": 50},
    }
    body = bench_search.render(
        [result],
        {"recall_at_5": 1.0, "mrr": 0.5},
        "machine",
        {"BENCH_SEARCH_ARTICLES": "20", "BENCH_SEARCH_TICKETS": "20", "BENCH_SEARCH_RUNS": "1"},
    )
    assert "| database (sqlite) | 0.900 | 0.800 |" in body
    assert "| sqlite | 40 | 1,000 | articles | 1.0 | 2.0 |" in body
    assert "more than 2,000 records" in body
    assert "- sqlite: same text first in 54 of 55 queries, same texts in the top 5 in 50" in body
