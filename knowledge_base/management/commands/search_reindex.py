import time

from django.core.management.base import BaseCommand

from knowledge_base.search import backend, search_reindex


class Command(BaseCommand):
    help = "Rebuild the search index (Elasticsearch: new index, alias switch, old one dropped; database: the table)."

    def handle(self, *args, **options):
        started = time.monotonic()
        count = search_reindex()
        self.stdout.write(
            f"Indexed {count} documents with the {backend().name} backend in {time.monotonic() - started:.1f}s."
        )
