"""The full-text index of the database backend, per database: an FTS5 table kept in step by
triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_search_fts USING fts5(title_tokens, body_tokens, "
    "content='knowledge_base_searchdocument', content_rowid='id', tokenize='unicode61')",
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
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS kb_search_au",
    "DROP TRIGGER IF EXISTS kb_search_ad",
    "DROP TRIGGER IF EXISTS kb_search_ai",
    "DROP TABLE IF EXISTS kb_search_fts",
]
POSTGRES_UP = [
    "ALTER TABLE knowledge_base_searchdocument ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', coalesce(title_tokens, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(body_tokens, '')), 'B')) STORED",
    "CREATE INDEX kb_searchdoc_tsv ON knowledge_base_searchdocument USING GIN (tsv)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS kb_searchdoc_tsv",
    "ALTER TABLE knowledge_base_searchdocument DROP COLUMN IF EXISTS tsv",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge_base", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
