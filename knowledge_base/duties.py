"""Duties of the worker for the knowledge base."""

from contact_center.worker import duty
from knowledge_base.indexing import index_pending


@duty("search_index", every=1)
def search_index_duty() -> int:
    """Index the records changed since the last round (the PendingIndex queue), in bulk."""
    return index_pending()
