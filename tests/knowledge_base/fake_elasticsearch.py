"""A small Elasticsearch 8 stand-in for the calls the backend makes, speaking the real wire format
(JSON bodies, NDJSON bulk, the X-Elastic-Product header the official client insists on).
Analysis approximates the server's: `whitespace`+`lowercase` for the segmented fields, a light
English stemmer for the `english` fields; scoring is BM25-like; fuzziness AUTO is edit distance."""

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

from knowledge_base.text import stem

VERSION = "8.15.3"


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class Store:
    def __init__(self):
        self.indices: dict[str, dict] = {}  # name -> {"mappings": .., "docs": {id: source}}
        self.aliases: dict[str, set[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def resolve(self, name: str) -> list[str]:
        if name in self.indices:
            return [name]
        return sorted(self.aliases.get(name, ()))

    def analyze(self, index: str, field: str, text) -> list[str]:
        analyzer = self.indices[index]["mappings"]["properties"].get(field, {}).get("analyzer", "standard")
        text = str(text or "").lower()
        if analyzer == "segmented":
            return text.split()
        words = re.findall(r"[\w']+", text)
        return [stem(w) for w in words] if analyzer == "english" else words


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeElasticsearch"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def store(self) -> Store:
        return self.server.store

    def _send(self, status: int, body=None, head=False):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
        self.send_header("Content-Length", "0" if head else str(len(payload)))
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _error(self, status: int, kind: str, reason: str):
        self._send(
            status,
            {
                "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
                "status": status,
            },
        )

    def do_HEAD(self):
        self._route("HEAD")

    def do_GET(self):
        self._route("GET")

    def do_PUT(self):
        self._route("PUT")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str):
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        body = self._body() if method in {"PUT", "POST", "DELETE"} else b""
        store = self.store
        with store.lock:
            store.requests.append((method, url.path))
            if not parts:
                return self._send(
                    200,
                    {
                        "name": "fake",
                        "cluster_name": "fake",
                        "cluster_uuid": "x",
                        "version": {"number": VERSION, "build_flavor": "default", "lucene_version": "9.11.1"},
                        "tagline": "You Know, for Search",
                    },
                    head=method == "HEAD",
                )
            if parts[0] == "_alias" and len(parts) == 2:
                found = {name: {"aliases": {parts[1]: {}}} for name in store.aliases.get(parts[1], ())}
                if not found:
                    return self._send(
                        404, {"error": f"alias [{parts[1]}] missing", "status": 404}, head=method == "HEAD"
                    )
                return self._send(200, found, head=method == "HEAD")
            if parts == ["_aliases"] and method == "POST":
                for action in json.loads(body)["actions"]:
                    ((verb, spec),) = action.items()
                    names = store.aliases.setdefault(spec["alias"], set())
                    (names.add if verb == "add" else names.discard)(spec["index"])
                return self._send(200, {"acknowledged": True})
            if parts == ["_bulk"] or (len(parts) == 2 and parts[1] == "_bulk"):
                return self._bulk(body)
            if len(parts) == 1 and method == "PUT":
                if parts[0] in store.indices:
                    return self._error(400, "resource_already_exists_exception", f"index [{parts[0]}] exists")
                spec = json.loads(body or b"{}")
                store.indices[parts[0]] = {"mappings": spec.get("mappings", {"properties": {}}), "docs": {}}
                return self._send(200, {"acknowledged": True, "shards_acknowledged": True, "index": parts[0]})
            if len(parts) == 1 and method == "DELETE":
                if store.indices.pop(parts[0], None) is None:
                    return self._error(404, "index_not_found_exception", f"no such index [{parts[0]}]")
                for names in store.aliases.values():
                    names.discard(parts[0])
                return self._send(200, {"acknowledged": True})
            if len(parts) == 2 and parts[1] == "_refresh":
                return self._send(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
            if len(parts) == 2 and parts[1] == "_search":
                return self._search(parts[0], json.loads(body or b"{}"))
        return self._error(400, "illegal_argument_exception", f"fake does not handle {method} {url.path}")

    def _bulk(self, body: bytes):
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        items, errors, i = [], False, 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            names = self.store.resolve(meta["_index"])
            if not names:
                items.append(
                    {
                        op: {
                            "_index": meta["_index"],
                            "_id": meta["_id"],
                            "status": 404,
                            "error": {"type": "index_not_found_exception", "reason": "no such index"},
                        }
                    }
                )
                errors = True
                i += 2 if op == "index" else 1
                continue
            docs = self.store.indices[names[0]]["docs"]
            if op == "index":
                created = meta["_id"] not in docs
                docs[meta["_id"]] = lines[i + 1]
                items.append(
                    {
                        op: {
                            "_index": names[0],
                            "_id": meta["_id"],
                            "result": "created" if created else "updated",
                            "status": 201 if created else 200,
                        }
                    }
                )
                i += 2
            else:
                found = docs.pop(meta["_id"], None) is not None
                items.append(
                    {
                        op: {
                            "_index": names[0],
                            "_id": meta["_id"],
                            "result": "deleted" if found else "not_found",
                            "status": 200 if found else 404,
                        }
                    }
                )
                i += 1
        return self._send(200, {"took": 1, "errors": errors, "items": items})

    def _search(self, target: str, request: dict):
        names = self.store.resolve(target)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{target}]")
        index = names[0]
        docs = self.store.indices[index]["docs"]
        scored = []
        for doc_id, source in docs.items():
            score = self._score(index, request.get("query", {"match_all": {}}), source, docs)
            if score is not None:
                scored.append((score, doc_id, source))
        scored.sort(key=lambda s: (-s[0], s[1]))
        hits = [
            {"_index": index, "_id": d, "_score": s, "_source": src} for s, d, src in scored[: request.get("size", 10)]
        ]
        return self._send(
            200,
            {
                "took": 1,
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"max_score": hits[0]["_score"] if hits else None, "hits": hits},
            },
        )

    def _score(self, index: str, query: dict, source: dict, docs: dict):
        """None when the document does not match, else its score."""
        ((kind, spec),) = query.items()
        if kind == "match_all":
            return 1.0
        if kind == "term":
            ((field, value),) = spec.items()
            value, boost = (value["value"], value.get("boost", 1.0)) if isinstance(value, dict) else (value, 1.0)
            return boost if source.get(field) == value else None
        if kind == "terms":
            ((field, values),) = spec.items()
            return 1.0 if source.get(field) in values else None
        if kind == "match":
            ((field, options),) = spec.items()
            options = options if isinstance(options, dict) else {"query": options}
            doc_words = self.store.analyze(index, field, source.get(field))
            total, n = 0.0, max(len(docs), 1)
            for word in set(self.store.analyze(index, field, options["query"])):
                limit = 0
                if options.get("fuzziness") == "AUTO":
                    limit = 0 if len(word) < 3 else 1 if len(word) < 6 else 2
                tf = sum(1 for w in doc_words if w == word or (limit and _edit_distance(w, word, limit) <= limit))
                if tf:
                    df = sum(1 for d in docs.values() if word in self.store.analyze(index, field, d.get(field)))
                    total += math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (tf + 1.2)
            return total * options.get("boost", 1.0) if total else None
        if kind == "bool":
            score = 0.0
            for clause in spec.get("filter", []):
                if self._score(index, clause, source, docs) is None:
                    return None
            for clause in spec.get("must", []):
                part = self._score(index, clause, source, docs)
                if part is None:
                    return None
                score += part
            should = [self._score(index, clause, source, docs) for clause in spec.get("should", [])]
            matched = [s for s in should if s is not None]
            needed = spec.get("minimum_should_match", 0 if spec.get("must") or spec.get("filter") else 1)
            if len(matched) < needed:
                return None
            return score + sum(matched)
        raise ValueError(f"fake does not handle query {kind}")


class FakeElasticsearch:
    def __init__(self):
        self.store = Store()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.store = self.store
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
