"""One full-text index per kind of record: an article search never walks the postings of 50,000
tickets that share its common words. SQLite: an FTS5 table per kind, kept in step by the same
triggers; PostgreSQL: a partial GIN index per kind over the stored tsvector, stripped of positions
(smaller; and ANALYZE keeps statistics per index expression, so the planner estimates a word's
matches within the kind instead of across all rows, and does not scan the table for common words)."""

from django.db import migrations

KINDS = ("article", "ticket", "customer")
COLUMNS = "title_tokens, body_tokens"


def _each(template: str) -> str:
    return " ".join(template.format(kind=kind) for kind in KINDS)


SQLITE_UP = [
    "DROP TRIGGER IF EXISTS kb_search_au",
    "DROP TRIGGER IF EXISTS kb_search_ad",
    "DROP TRIGGER IF EXISTS kb_search_ai",
    "DROP TABLE IF EXISTS kb_search_fts",
    *(
        f"CREATE VIRTUAL TABLE kb_search_fts_{kind} USING fts5({COLUMNS}, "
        "content='knowledge_base_searchdocument', content_rowid='id', tokenize='unicode61')"
        for kind in KINDS
    ),
    *(
        f"INSERT INTO kb_search_fts_{kind}(rowid, {COLUMNS}) "
        f"SELECT id, {COLUMNS} FROM knowledge_base_searchdocument WHERE kind = '{kind}'"
        for kind in KINDS
    ),
    "CREATE TRIGGER kb_search_ai AFTER INSERT ON knowledge_base_searchdocument BEGIN "
    + _each(
        "INSERT INTO kb_search_fts_{kind}(rowid, title_tokens, body_tokens) "
        "SELECT new.id, new.title_tokens, new.body_tokens WHERE new.kind = '{kind}';"
    )
    + " END",
    "CREATE TRIGGER kb_search_ad AFTER DELETE ON knowledge_base_searchdocument BEGIN "
    + _each(
        "INSERT INTO kb_search_fts_{kind}(kb_search_fts_{kind}, rowid, title_tokens, body_tokens) "
        "SELECT 'delete', old.id, old.title_tokens, old.body_tokens WHERE old.kind = '{kind}';"
    )
    + " END",
    "CREATE TRIGGER kb_search_au AFTER UPDATE ON knowledge_base_searchdocument BEGIN "
    + _each(
        "INSERT INTO kb_search_fts_{kind}(kb_search_fts_{kind}, rowid, title_tokens, body_tokens) "
        "SELECT 'delete', old.id, old.title_tokens, old.body_tokens WHERE old.kind = '{kind}';"
    )
    + " "
    + _each(
        "INSERT INTO kb_search_fts_{kind}(rowid, title_tokens, body_tokens) "
        "SELECT new.id, new.title_tokens, new.body_tokens WHERE new.kind = '{kind}';"
    )
    + " END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS kb_search_au",
    "DROP TRIGGER IF EXISTS kb_search_ad",
    "DROP TRIGGER IF EXISTS kb_search_ai",
    *(f"DROP TABLE IF EXISTS kb_search_fts_{kind}" for kind in KINDS),
    "CREATE VIRTUAL TABLE kb_search_fts USING fts5(title_tokens, body_tokens, "
    "content='knowledge_base_searchdocument', content_rowid='id', tokenize='unicode61')",
    "INSERT INTO kb_search_fts(kb_search_fts) VALUES ('rebuild')",
    "CREATE TRIGGER kb_search_ai AFTER INSERT ON knowledge_base_searchdocument BEGIN "
    "INSERT INTO kb_search_fts(rowid, title_tokens, body_tokens) VALUES (new.id, new.title_tokens, new.body_tokens); "
    "END",
    "CREATE TRIGGER kb_search_ad AFTER DELETE ON knowledge_base_searchdocument BEGIN "
    "INSERT INTO kb_search_fts(kb_search_fts, rowid, title_tokens, body_tokens) "
    "VALUES ('delete', old.id, old.title_tokens, old.body_tokens); END",
    "CREATE TRIGGER kb_search_au AFTER UPDATE ON knowledge_base_searchdocument BEGIN "
    "INSERT INTO kb_search_fts(kb_search_fts, rowid, title_tokens, body_tokens) "
    "VALUES ('delete', old.id, old.title_tokens, old.body_tokens); "
    "INSERT INTO kb_search_fts(rowid, title_tokens, body_tokens) VALUES (new.id, new.title_tokens, new.body_tokens); "
    "END",
]
POSTGRES_UP = [
    *(
        f"CREATE INDEX kb_searchdoc_tsv_{kind} ON knowledge_base_searchdocument "
        f"USING GIN (strip(tsv)) WHERE kind = '{kind}'"
        for kind in KINDS
    ),
    "DROP INDEX IF EXISTS kb_searchdoc_tsv",
]
POSTGRES_DOWN = [
    "CREATE INDEX IF NOT EXISTS kb_searchdoc_tsv ON knowledge_base_searchdocument USING GIN (tsv)",
    *(f"DROP INDEX IF EXISTS kb_searchdoc_tsv_{kind}" for kind in KINDS),
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge_base", "0002_search_index")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
