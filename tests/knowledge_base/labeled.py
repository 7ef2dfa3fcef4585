"""The search labeled set (data/): load it into the database, index it, score recall@5 and MRR."""

import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).with_name("data")


def load_data() -> tuple[list[dict], dict]:
    articles = json.loads((DATA / "articles.json").read_text(encoding="utf-8"))
    return articles, json.loads((DATA / "queries.json").read_text(encoding="utf-8"))


def labeled_set_load(owner=None) -> dict[str, dict[int, str]]:
    """Create the labeled articles and customers, rebuild the index; returns {kind: {object_id: label}}."""
    from crm.models import Company
    from crm.services import person_create
    from knowledge_base.models import Article, Category, Status, Visibility
    from knowledge_base.search import search_reindex

    articles, data = load_data()
    categories = {}
    for slug in sorted({a["category"] for a in articles}):
        categories[slug], _ = Category.objects.get_or_create(
            slug=f"ls-{slug}", defaults={"name_zh": slug, "name_en": slug}
        )
    rows = [
        Article(
            category=categories[a["category"]],
            language=a["language"],
            title=a["title"],
            body=a["body"],
            slug=f"ls-{a['id'].rsplit('.', 1)[0]}",
            status=Status.PUBLISHED,
            visibility=Visibility.INTERNAL if a.get("internal") else Visibility.PUBLIC,
        )
        for a in articles
    ]
    created = Article.objects.bulk_create(rows)
    labels = {"article": {obj.pk: a["id"] for obj, a in zip(created, articles, strict=True)}, "customer": {}}
    for c in data["customers"]:
        company, _ = Company.objects.get_or_create(name=c["company"])
        person = person_create(
            by=None, name=c["name"], emails=c["emails"], phones=c["phones"], owner=owner, company=company
        )
        labels["customer"][person.pk] = c["id"]
    search_reindex()
    return labels


@dataclass
class Score:
    recall_at_5: float
    mrr: float
    misses: list[str]


def labeled_set_score(user, labels: dict[str, dict[int, str]], language: str | None = None) -> Score:
    from knowledge_base.search import search_global

    _, data = load_data()
    queries = [q for q in data["queries"] if language is None or q["lang"] == language]
    found, reciprocal, misses = 0, 0.0, []
    for q in queries:
        results = search_global(user, q["q"], kind=q["type"], limit=5)
        ranked = [labels[q["type"]].get(r["id"]) for r in results]
        if any(r in q["expected"] for r in ranked):
            found += 1
        rank = next((i + 1 for i, r in enumerate(ranked) if r in q["expected"]), None)
        if rank:
            reciprocal += 1 / rank
        if rank != 1:
            misses.append(f"{q['q']!r} → {ranked[:3]} (want {q['expected'][0]})")
    return Score(recall_at_5=found / len(queries), mrr=reciprocal / len(queries), misses=misses)
