"""Elasticsearch backend (official client, major 8 as in docker-compose.yml). Documents carry the
same jieba-segmented words as the database backend (`*_tokens`, whitespace analyzer) plus the raw
text under the `english` analyzer (stemming) searched with fuzziness for typos. Writers and
readers use an alias; `rebuild` fills a new index, switches the alias and drops the old one."""

import time

from elasticsearch import Elasticsearch, helpers

from knowledge_base.backends.base import Filters, Hit, SearchBackend

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "kind": {"type": "keyword"},
        "object_id": {"type": "long"},
        "language": {"type": "keyword"},
        "public": {"type": "boolean"},
        "staff": {"type": "boolean"},
        "url": {"type": "keyword", "index": False},
        "title": {"type": "text", "analyzer": "english"},
        "body": {"type": "text", "analyzer": "english"},
        "title_tokens": {"type": "text", "analyzer": "segmented"},
        "body_tokens": {"type": "text", "analyzer": "segmented"},
    },
}
SETTINGS = {
    "number_of_shards": 1,
    "analysis": {"analyzer": {"segmented": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}}},
}


def _id(kind: str, object_id: int) -> str:
    return f"{kind}-{object_id}"


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, url: str, index: str = "contact-center-search"):
        self.alias = index
        self.client = Elasticsearch(url, request_timeout=10, retry_on_timeout=True, max_retries=2)

    def _ensure(self) -> None:
        if not self.client.indices.exists_alias(name=self.alias):
            self._create_index_behind_alias()

    def _create_index_behind_alias(self) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
        self.client.indices.create(index=name, mappings=MAPPINGS, settings=SETTINGS)
        self.client.indices.update_aliases(actions=[{"add": {"index": name, "alias": self.alias}}])
        return name

    def index(self, documents: list[dict]) -> None:
        if not documents:
            return
        self._ensure()
        actions = [
            {"_op_type": "index", "_index": self.alias, "_id": _id(d["kind"], d["object_id"]), "_source": d}
            for d in documents
        ]
        helpers.bulk(self.client, actions, refresh="wait_for")

    def delete(self, kind: str, object_ids: list[int]) -> None:
        self._ensure()
        actions = [{"_op_type": "delete", "_index": self.alias, "_id": _id(kind, i)} for i in object_ids]
        helpers.bulk(self.client, actions, refresh="wait_for", raise_on_error=False)

    def rebuild(self, batches) -> int:
        new = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
        self.client.indices.create(index=new, mappings=MAPPINGS, settings=SETTINGS)
        count = 0
        for batch in batches:
            actions = [
                {"_op_type": "index", "_index": new, "_id": _id(d["kind"], d["object_id"]), "_source": d} for d in batch
            ]
            helpers.bulk(self.client, actions)
            count += len(batch)
        self.client.indices.refresh(index=new)
        old = []
        if self.client.indices.exists_alias(name=self.alias):
            old = list(self.client.indices.get_alias(name=self.alias).body)
        actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)  # one atomic switch: searches never see a gap
        for name in old:
            self.client.indices.delete(index=name)
        return count

    def ready(self) -> str:
        info = self.client.info()
        return f"ok (elasticsearch {info['version']['number']})"

    def search(self, terms: list[str], kind: str, filters: Filters, limit: int) -> list[Hit]:
        if not terms:
            return []
        words = " ".join(terms)
        must_filter = [{"term": {"kind": kind}}]
        if kind == "article":
            must_filter.append({"term": {"public" if filters.public_only else "staff": True}})
        if filters.scope_ids is not None:
            if not filters.scope_ids:
                return []
            must_filter.append({"terms": {"object_id": filters.scope_ids}})
        should = [
            {"match": {"title_tokens": {"query": words, "boost": 3}}},
            {"match": {"body_tokens": {"query": words}}},
            {"match": {"title": {"query": words, "fuzziness": "AUTO", "boost": 1.5}}},
            {"match": {"body": {"query": words, "fuzziness": "AUTO", "boost": 0.5}}},
        ]
        query = {
            "bool": {
                "filter": must_filter,
                "must": [{"bool": {"should": should, "minimum_should_match": 1}}],
                "should": [{"term": {"language": {"value": filters.language or "zh", "boost": 0.5}}}],
            }
        }
        self._ensure()
        response = self.client.search(index=self.alias, query=query, size=limit, track_total_hits=False)
        hits = []
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            hits.append(
                Hit(
                    kind=source["kind"],
                    object_id=source["object_id"],
                    score=hit["_score"] or 0.0,
                    title=source["title"],
                    body=source["body"],
                    url=source.get("url", ""),
                    language=source.get("language", ""),
                )
            )
        return hits
