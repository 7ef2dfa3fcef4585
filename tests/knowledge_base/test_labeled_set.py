"""Search quality on the labeled set (data/), on the database in use: SQLite FTS5 or PostgreSQL."""

import pytest

from tests.knowledge_base.labeled import labeled_set_load, labeled_set_score

RECALL_FLOOR = 0.85
MRR_FLOOR = 0.70


@pytest.fixture
def labeled(org):
    return labeled_set_load(owner=org.admin)


@pytest.mark.django_db
def test_labeled_set_meets_the_floor(org, labeled):
    score = labeled_set_score(org.admin, labeled)
    assert score.recall_at_5 >= RECALL_FLOOR, score.misses
    assert score.mrr >= MRR_FLOOR, score.misses


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_language_meets_the_floor(org, labeled, language):
    score = labeled_set_score(org.admin, labeled, language=language)
    assert score.recall_at_5 >= RECALL_FLOOR - 0.05, score.misses
