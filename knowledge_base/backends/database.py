"""The built-in backend: SQLite FTS5 (bm25) or PostgreSQL full text (GIN over a tsvector), over
the pre-segmented words in SearchDocument. The index objects are created in migration 0002."""

import difflib
import re

from django.db import connection, transaction

from knowledge_base.backends.base import Filters, Hit, SearchBackend
from knowledge_base.models import DocKind, SearchDocument, SearchTerm

FIELDS = ("kind", "object_id", "language", "public", "staff", "title", "body", "url", "title_tokens", "body_tokens")
_LATIN = re.compile(r"^[a-z][a-z']{3,}$")
COLUMNS = "d.kind, d.object_id, d.title, d.body, d.url, d.language"
LANGUAGE_BOOST = "(CASE WHEN d.language = %s THEN 1.3 ELSE 1.0 END)"
# A query matching more records of one kind than this ranks only the newest this many (and the
# newest this many matching every term): ranking is the cost, and a common word matches thousands.
RANKED = 2000


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
                    for kind in DocKind.values:
                        cursor.execute(f"INSERT INTO kb_search_fts_{kind}(kb_search_fts_{kind}) VALUES ('optimize')")  # noqa: S608
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
        if not terms or kind not in DocKind.values:
            return []
        where, params = [f"d.kind = '{kind}'"], []
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
        rank = self._rank_postgres if connection.vendor == "postgresql" else self._rank_sqlite
        with connection.cursor() as cursor:
            rows, saturated = rank(cursor, terms, kind, " AND ".join(where), params, filters.language, limit, True)
            if saturated and len(rows) < limit:  # the newest matches were not visible enough: rank them all
                rows, _ = rank(cursor, terms, kind, " AND ".join(where), params, filters.language, limit, False)
        sign = 1 if connection.vendor == "postgresql" else -1
        return [
            Hit(kind=r[0], object_id=r[1], title=r[2], body=r[3], url=r[4], language=r[5], score=sign * r[6])
            for r in rows
        ]

    def _rank_sqlite(self, cursor, terms, kind, where, params, language, limit, bounded):
        """bm25 over the kind's FTS5 table. Bounded: only the newest RANKED matches of the any-term
        query (an FTS5 rowid range, cheap) plus the newest RANKED matches of the all-terms query.
        bm25 sums over the same phrases either way, so the two passes' scores compare."""
        table = f"kb_search_fts_{kind}"
        quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
        matches = [" OR ".join(quoted), " AND ".join(quoted)] if len(quoted) > 1 else [" OR ".join(quoted)]
        found, saturated = {}, False
        for match in matches:
            lowest = 0
            if bounded:
                cursor.execute(
                    f"SELECT min(rowid), count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH %s "  # noqa: S608
                    f"ORDER BY rowid DESC LIMIT {RANKED})",
                    [match],
                )
                lowest, count = cursor.fetchone()
                if not count:
                    continue
                saturated = saturated or count >= RANKED
            cursor.execute(
                f"SELECT {COLUMNS}, bm25({table}, 3.0, 1.0) * {LANGUAGE_BOOST} AS score "  # noqa: S608
                f"FROM {table} JOIN knowledge_base_searchdocument d ON d.id = {table}.rowid "
                f"WHERE {table} MATCH %s AND {table}.rowid >= %s AND {where} ORDER BY score, d.object_id LIMIT %s",
                [language, match, lowest, *params, limit],
            )
            found.update((r[1], r) for r in cursor.fetchall())
            if not saturated:  # every any-term match was ranked: the all-terms pass adds nothing
                break
        return sorted(found.values(), key=lambda r: (r[6], r[1]))[:limit], saturated

    def _rank_postgres(self, cursor, terms, kind, where, params, language, limit, bounded):
        """Matched terms first, then ts_rank. Bounded: only over the newest RANKED matches of the
        any-term query and of the all-terms query. strip(tsv) is the expression of the kind's partial
        GIN index (migration 0003)."""
        lexemes = ["'" + t.replace("\\", "").replace("'", "''") + "'" for t in terms]
        coverage = " + ".join("(d.tsv @@ to_tsquery('simple', %s))::int" for _ in lexemes)
        match, match_params = "strip(d.tsv) @@ q", []
        if bounded:  # every candidate matches q: fetch them by primary key, not through the index again
            queries = [" | ".join(lexemes), " & ".join(lexemes)] if len(lexemes) > 1 else [" | ".join(lexemes)]
            match = "d.id IN ({})".format(
                " UNION ".join(
                    f"(SELECT w.id FROM knowledge_base_searchdocument w WHERE w.kind = '{kind}' "  # noqa: S608
                    f"AND strip(w.tsv) @@ to_tsquery('simple', %s) ORDER BY w.id DESC LIMIT {RANKED})"
                    for _ in queries
                )
            )
            match_params = queries
        cursor.execute(
            f"SELECT {COLUMNS}, ({coverage} + ts_rank(d.tsv, q, 1)) * {LANGUAGE_BOOST} AS score "  # noqa: S608
            f"FROM knowledge_base_searchdocument d, to_tsquery('simple', %s) q "
            f"WHERE {match} AND {where} ORDER BY score DESC, d.object_id LIMIT %s",
            [*lexemes, language, " | ".join(lexemes), *match_params, *params, limit],
        )
        rows = cursor.fetchall()
        saturated = False
        if bounded and len(rows) < limit:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM knowledge_base_searchdocument w WHERE w.kind = '{kind}' "  # noqa: S608
                f"AND strip(w.tsv) @@ to_tsquery('simple', %s) LIMIT {RANKED}) s",
                [" | ".join(lexemes)],
            )
            saturated = cursor.fetchone()[0] >= RANKED
        return rows, saturated
