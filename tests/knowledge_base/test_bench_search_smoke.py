"""The search benchmark's pieces on tiny data, so `python -m bench.search` cannot rot."""

import random

import pytest

from bench import search as bench_search
from knowledge_base.models import Article, Category


@pytest.mark.django_db
def test_generated_articles_and_the_report():
    category = Category.objects.create(slug="bench", name_zh="基准", name_en="Bench")
    Article.objects.bulk_create(bench_search._generated_articles(20, category, random.Random(1)))
    assert Article.objects.count() == 20
    assert bench_search._percentile([1, 2, 3, 4, 100], 0.95) == 100
    result = {
        "database": "sqlite",
        "recall_at_5": 0.9,
        "mrr": 0.8,
        "documents": 40,
        "docs_per_second": 1000.0,
        "latency_ms": {"articles": {"p50": 1.0, "p95": 2.0, "n": 5}},
    }
    body = bench_search.render(
        [result],
        {"recall_at_5": 1.0, "mrr": 0.5},
        "machine",
        {"BENCH_SEARCH_ARTICLES": "20", "BENCH_SEARCH_TICKETS": "20", "BENCH_SEARCH_RUNS": "1"},
    )
    assert "| database (sqlite) | 0.900 | 0.800 |" in body
    assert "| sqlite | 40 | 1,000 | articles | 1.0 | 2.0 |" in body
