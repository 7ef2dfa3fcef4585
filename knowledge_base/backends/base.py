from dataclasses import dataclass, field


@dataclass
class Hit:
    kind: str
    object_id: int
    score: float
    title: str = ""
    body: str = ""
    url: str = ""
    language: str = ""


@dataclass
class Filters:
    """What the caller may see: `public_only` (help center, widget), `staff` (internal articles too),
    `scope_sql` a (sql, params) subquery of visible ids for tickets/customers, or `scope_ids` a list."""

    public_only: bool = True
    language: str = ""  # preferred language: ranked first, not required
    scope_sql: tuple[str, tuple] | None = None
    scope_ids: list[int] | None = None
    extra: dict = field(default_factory=dict)


class SearchBackend:
    name = "base"

    def index(self, documents: list[dict]) -> None:
        raise NotImplementedError

    def delete(self, kind: str, object_ids: list[int]) -> None:
        raise NotImplementedError

    def search(self, terms: list[str], kind: str, filters: Filters, limit: int) -> list[Hit]:
        raise NotImplementedError

    def rebuild(self, batches) -> int:
        """Replace the whole index with the documents from `batches` (an iterable of lists)."""
        raise NotImplementedError

    def ready(self) -> str:
        raise NotImplementedError

    def correct(self, terms: list[str]) -> list[str]:
        """Extra terms for likely typos; the Elasticsearch backend uses fuzzy matching instead."""
        return []
