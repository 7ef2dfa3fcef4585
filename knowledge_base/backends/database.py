"""The built-in backend: SQLite FTS5 (bm25) or PostgreSQL full text (GIN over a tsvector), over
the pre-segmented words in SearchDocument. The index objects are created in migration 0002."""

import difflib
import re

from django.db import connection, transaction

from knowledge_base.backends.base import Filters, Hit, SearchBackend
from knowledge_base.models import DocKind, SearchDocument, SearchTerm

FIELDS = ("kind", "object_id", "language", "public", "staff", "title", "body", "url", "title_tokens", "body_tokens")
_LATIN = re.compile(r"^[a-z][a-z']{3,}$")


class DatabaseBackend(SearchBackend):
    name = "database"

    def index(self, documents: list[dict]) -> None:
        if not documents:
            return
        with transaction.atomic():
            for kind in {d["kind"] for d in documents}:
                ids = [d["object_id"] for d in documents if d["kind"] == kind]
                SearchDocument.objects.filter(kind=kind, object_id__in=ids).delete()
            SearchDocument.objects.bulk_create([SearchDocument(**{f: d[f] for f in FIELDS}) for d in documents])
            vocabulary = {
                term
                for d in documents
                if d["kind"] == DocKind.ARTICLE
                for term in f"{d['title_tokens']} {d['body_tokens']}".split()
                if _LATIN.match(term) and len(term) <= 60
            }
            if vocabulary:
                SearchTerm.objects.bulk_create(
                    [SearchTerm(term=t, length=len(t)) for t in vocabulary], ignore_conflicts=True, batch_size=500
                )

    def delete(self, kind: str, object_ids: list[int]) -> None:
        SearchDocument.objects.filter(kind=kind, object_id__in=object_ids).delete()

    def rebuild(self, batches) -> int:
        count = 0
        with transaction.atomic():
            SearchDocument.objects.all().delete()
            for batch in batches:
                self.index(batch)
                count += len(batch)
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("INSERT INTO kb_search_fts(kb_search_fts) VALUES ('optimize')")
        return count

    def ready(self) -> str:
        SearchDocument.objects.exists()
        return f"ok (database, {connection.vendor})"

    def correct(self, terms: list[str]) -> list[str]:
        latin = [t for t in terms if _LATIN.match(t)]
        if not latin:
            return []
        known = set(SearchTerm.objects.filter(term__in=latin).values_list("term", flat=True))
        extra: list[str] = []
        for term in latin:
            if term in known:
                continue
            candidates = SearchTerm.objects.filter(length__gte=len(term) - 2, length__lte=len(term) + 2)
            candidates = candidates.filter(term__startswith=term[0]).values_list("term", flat=True)[:20000]
            extra += difflib.get_close_matches(term, list(candidates), n=1, cutoff=0.75)
        return extra

    def search(self, terms: list[str], kind: str, filters: Filters, limit: int) -> list[Hit]:
        if not terms:
            return []
        where, params = ["d.kind = %s"], [kind]
        if kind == DocKind.ARTICLE:
            where.append("d.public" if filters.public_only else "d.staff")
        if filters.scope_sql is not None:
            where.append(f"d.object_id IN ({filters.scope_sql[0]})")
            params += list(filters.scope_sql[1])
        elif filters.scope_ids is not None:
            if not filters.scope_ids:
                return []
            where.append(f"d.object_id IN ({', '.join(['%s'] * len(filters.scope_ids))})")
            params += list(filters.scope_ids)
        columns = "d.kind, d.object_id, d.title, d.body, d.url, d.language"
        language_boost = "(CASE WHEN d.language = %s THEN 1.3 ELSE 1.0 END)"
        if connection.vendor == "postgresql":
            lexemes = ["'" + t.replace("\\", "").replace("'", "''") + "'" for t in terms]
            coverage = " + ".join("(d.tsv @@ to_tsquery('simple', %s))::int" for _ in lexemes)
            sql = (
                f"SELECT {columns}, ({coverage} + ts_rank(d.tsv, q, 1)) * {language_boost} AS score "  # noqa: S608
                f"FROM knowledge_base_searchdocument d, to_tsquery('simple', %s) q "
                f"WHERE d.tsv @@ q AND {' AND '.join(where)} ORDER BY score DESC, d.object_id LIMIT %s"
            )
            all_params = [*lexemes, filters.language, " | ".join(lexemes), *params, limit]
            sign = 1
        else:
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
            sql = (  # only placeholders and fixed SQL are interpolated
                f"SELECT {columns}, bm25(kb_search_fts, 3.0, 1.0) * {language_boost} AS score "  # noqa: S608
                f"FROM kb_search_fts JOIN knowledge_base_searchdocument d ON d.id = kb_search_fts.rowid "
                f"WHERE kb_search_fts MATCH %s AND {' AND '.join(where)} ORDER BY score, d.object_id LIMIT %s"
            )
            all_params = [filters.language, match, *params, limit]
            sign = -1
        with connection.cursor() as cursor:
            cursor.execute(sql, all_params)
            rows = cursor.fetchall()
        return [
            Hit(kind=r[0], object_id=r[1], title=r[2], body=r[3], url=r[4], language=r[5], score=sign * r[6])
            for r in rows
        ]
