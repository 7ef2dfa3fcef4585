"""No input makes the API answer 500: garbage ids, query strings and bodies at every endpoint.

A table of known-nasty inputs runs every time; hypothesis then throws generated JSON
bodies and query strings at each route. Every answer must be < 500 and, for the API's
own routes, JSON.
"""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [
    # (method, path template); {c} customer, {t} ticket, {m} company
    ("get", "/api/v1/customers/"),
    ("post", "/api/v1/customers/"),
    ("get", "/api/v1/customers/{c}/"),
    ("patch", "/api/v1/customers/{c}/"),
    ("post", "/api/v1/customers/{c}/reveal-id-number/"),
    ("post", "/api/v1/customers/{c}/share/"),
    ("post", "/api/v1/customers/{c}/identities/"),
    ("get", "/api/v1/customers/{c}/history/"),
    ("get", "/api/v1/customers/{c}/timeline/"),
    ("get", "/api/v1/companies/"),
    ("post", "/api/v1/companies/"),
    ("get", "/api/v1/companies/{m}/"),
    ("patch", "/api/v1/companies/{m}/"),
    ("get", "/api/v1/tickets/"),
    ("post", "/api/v1/tickets/"),
    ("get", "/api/v1/tickets/{t}/"),
    ("patch", "/api/v1/tickets/{t}/"),
    ("post", "/api/v1/tickets/{t}/reply/"),
    ("post", "/api/v1/tickets/{t}/note/"),
    ("post", "/api/v1/tickets/{t}/assign/"),
    ("post", "/api/v1/tickets/{t}/status/"),
    ("post", "/api/v1/tickets/{t}/merge/"),
    ("get", "/api/v1/tickets/{t}/messages/"),
    ("post", "/api/v1/tickets/{t}/messages/"),
    ("get", "/api/v1/users/"),
    ("post", "/api/v1/auth/token/"),
]
ROUTE_IDS = [f"{method.upper()} {path}" for method, path in ROUTES]
READABLE = {path for method, path in ROUTES if method == "get"}

BAD_IDS = [
    "abc",
    "0",
    "-1",
    "1.5",
    "1e3",
    "99999999999999999999999",
    "9223372036854775808",
    "%00",
    "%20",
    "１２",  # full-width digits
    "²",
    "null",
    "'%20OR%201=1--",
    "%E2%80%AE",
]

BAD_QUERIES = [
    {"page": "abc"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "99999999999999999999999"},
    {"page_size": "abc"},
    {"page_size": "-5"},
    {"page_size": "0"},
    {"page_size": "1000000000000"},
    {"ordering": "password"},
    {"ordering": "-,--,;DROP TABLE crm_person"},
    {"ordering": "customer__owner__password"},
    {"status": "exploded"},
    {"status": ""},
    {"priority": "\x00"},
    {"channel": ["email", "carrier-pigeon"]},
    {"lifecycle_stage": "royalty"},
    {"assignee": "me; DROP"},
    {"assignee": "99999999999999999999999"},
    {"queue": "1e400"},
    {"customer": "-0"},
    {"owner": "NaN"},
    {"company": "９"},
    {"team": "1" * 60},
    {"tag": "\x00"},
    {"updated_after": "yesterday"},
    {"updated_after": "9999-12-31T23:59:59-12:00"},
    {"updated_before": "0001-01-01T00:00:00+14:00"},
    {"created_after": "2026-02-30"},
    {"search": "\x00"},
    {"search": "%" * 5000},
    {"search": "#" + "9" * 40},
    {"search": "２０２６"},
    {"search": "'; DROP TABLE ticketing_ticket; --"},
    {"agents": "perhaps"},
    {"unsolved": "maybe"},
    {"no_such_filter": "x"},
    {"format": "xml"},
]

RAW_BODIES = [
    ("application/json", b"{"),
    ("application/json", b"[]"),
    ("application/json", b"null"),
    ("application/json", b'"just a string"'),
    ("application/json", b"12"),
    ("application/json", b'{"name": NaN, "subject": Infinity}'),
    ("application/json", b"[" * 5_000 + b"]" * 5_000),
    ("application/json", b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
    ("application/json", b'{"name": "\\ud800", "subject": "\\udfff", "body_text": "\\ud83d"}'),
    ("application/json", b"\xff\xfe\x00{"),
    ("application/json; charset=made-up", b'{"name": "x"}'),
    ("application/json; charset=utf-16", b'{"name": "x"}'),
    ("application/x-www-form-urlencoded", b"name=%ff%fe&emails=%00&subject=%ED%A0%80"),
    ("application/x-www-form-urlencoded; charset=made-up", b"name=x"),
    ("multipart/form-data", b"--x\r\nnot really"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--"),
    (
        "multipart/form-data; boundary=x; charset=made-up",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--",
    ),
    ("multipart/form-data; boundary=" + "x" * 100, b"--x"),
    ("text/plain", b"hello"),
    ("application/xml", b"<customer><name>x</name></customer>"),
]

FIELD_NAMES = [
    "name",
    "emails",
    "phones",
    "id_number",
    "address",
    "language",
    "owner",
    "source",
    "lifecycle_stage",
    "service_level",
    "tags",
    "company",
    "title",
    "user",
    "kind",
    "value",
    "credit_code",
    "industry",
    "size",
    "region",
    "status",
    "email_domain",
    "customer",
    "subject",
    "body_text",
    "body_html",
    "channel",
    "priority",
    "queue",
    "assignee",
    "into",
    "direction",
    "username",
    "password",
]
BAD_VALUES = [
    None,
    True,
    0,
    -1,
    2**63,
    10**400,
    1.5,
    float("inf"),
    "",
    " ",
    "\x00",
    "x" * 100_000,
    "１",
    "open",
    "solved",
    "closed",
    "note",
    "in",
    "email",
    "phone",
    "+8613800138000",
    "13800138000",
    "a@b.c",
    "11010519491231002X",
    "91350100M000100Y43",
    [],
    [None],
    ["x"] * 50,
    [[["deep"]]],
    {},
    {"id": 1},
]
# Every field at once with one bad value, then single fields (the rest of the body valid
# or absent) so that requests also get past the serializer into the services.
HOSTILE_BODIES = [dict.fromkeys(FIELD_NAMES, value) for value in BAD_VALUES] + [
    {field: value}
    for field in ("name", "subject", "status", "customer", "into", "emails", "assignee", "user", "kind", "value")
    for value in (None, -1, 2**63, "", "\x00", "１", [], {}, "x" * 100_000)
]


@pytest.fixture
def hostile(org, book, api):
    """A supervisor's client (every permission, so requests reach the deepest code), and the ids to fill in."""
    from crm.services import company_create

    company = company_create(by=None, name="Hostile Co", owner=org.sales_rep)
    client = api(org.supervisor)
    ids = {"c": book["rep_customer"].id, "t": book["billing_ticket"].id, "m": company.id}
    return client, ids


def send(client, method: str, path: str, *, data=None, raw: bytes | None = None, content_type: str | None = None):
    if raw is not None:
        return getattr(client, method)(path, data=raw, content_type=content_type)
    if method == "get":
        return client.get(path, data or {})
    # json.dumps, not the test client's renderer: it writes Infinity and huge ints as a hostile client would.
    return getattr(client, method)(path, data=json.dumps(data).encode(), content_type="application/json")


def assert_handled(answer, path: str) -> None:
    assert answer.status_code < 500, (path, answer.status_code, answer.content[:300])
    if answer.status_code not in (301, 404) and answer.get("Content-Type", "").startswith("application/json"):
        json.loads(answer.content)  # the body is what the header says


# --- the table -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if "{" in r[1]],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if "{" in r[1]],
)
def test_garbage_ids_in_the_path(hostile, method, path):
    client, _ids = hostile
    for bad in BAD_IDS:
        url = path.format(c=bad, t=bad, m=bad)
        answer = send(client, method, url, data={})
        assert_handled(answer, url)
        assert answer.status_code in (400, 404, 405), (url, answer.status_code)


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] == "get"],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] == "get"],
)
def test_garbage_query_strings(hostile, method, path):
    client, ids = hostile
    url = path.format(**ids)
    for query in BAD_QUERIES:
        assert_handled(send(client, method, url, data=query), f"{url}?{query}")


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] != "get"],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] != "get"],
)
def test_garbage_bodies(hostile, method, path):
    client, ids = hostile
    url = path.format(**ids)
    for content_type, raw in RAW_BODIES:
        answer = send(client, method, url, raw=raw, content_type=content_type)
        assert_handled(answer, f"{url} {content_type} {raw[:40]!r}")
    for body in HOSTILE_BODIES:
        assert_handled(send(client, method, url, data=body), f"{url} {str(body)[:80]}")


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=ROUTE_IDS)
def test_options_head_and_the_browsable_api_never_fail(hostile, method, path):
    client, ids = hostile
    url = path.format(**ids)
    assert client.options(url).status_code == 200
    for answer in (client.head(url), client.get(url, {"format": "api"}), client.get(url, HTTP_ACCEPT="text/html")):
        assert answer.status_code == (200 if path in READABLE else 405), url


def test_unsupported_methods_are_405_not_500(hostile):
    client, ids = hostile
    for path in ("/api/v1/customers/{c}/", "/api/v1/tickets/{t}/", "/api/v1/companies/{m}/"):
        url = path.format(**ids)
        assert client.delete(url).status_code == 405
        assert client.put(url, {}, format="json").status_code == 405


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[" * 100_000 + b"]" * 100_000, b'{"name": NaN}', b"\xff\xfe\x00{", b'{"name": "\\ud800"}'],
    ids=["truncated", "deeply-nested", "nan", "not-utf8", "lone-surrogate"],
)
def test_malformed_json_is_a_400_with_a_message_and_saves_nothing(hostile, raw):
    from crm.models import Person

    client, _ids = hostile
    before = Person.objects.count()
    answer = client.post("/api/v1/customers/", data=raw, content_type="application/json")
    assert answer.status_code == 400
    assert "JSON parse error" in answer.json()["detail"]
    assert Person.objects.count() == before


def test_a_body_the_api_does_not_speak_is_415(hostile):
    client, _ids = hostile
    answer = client.post("/api/v1/customers/", data=b"<customer/>", content_type="application/xml")
    assert answer.status_code == 415


# --- generated ---------------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=300)
    | st.sampled_from([v for v in BAD_VALUES if isinstance(v, str)])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6) | json_values
query_keys = st.sampled_from(
    [
        "page",
        "page_size",
        "ordering",
        "search",
        "status",
        "priority",
        "channel",
        "assignee",
        "queue",
        "team",
        "customer",
        "company",
        "owner",
        "tag",
        "lifecycle_stage",
        "source",
        "updated_after",
        "created_before",
        "unsolved",
        "agents",
    ]
)
queries = st.dictionaries(query_keys, st.text(max_size=40) | st.integers().map(str), max_size=5)

HYPOTHESIS = settings(
    # API_FUZZ_EXAMPLES=1000 for a long hunt; the default keeps the suite quick.
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "30")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] != "get"],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] != "get"],
)
@HYPOTHESIS
@given(body=bodies)
def test_generated_bodies(hostile, method, path, body):
    client, ids = hostile
    url = path.format(**ids)
    assert_handled(send(client, method, url, data=body), f"{url} {str(body)[:200]}")


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] == "get"],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] == "get"],
)
@HYPOTHESIS
@given(query=queries)
def test_generated_query_strings(hostile, method, path, query):
    client, ids = hostile
    url = path.format(**ids)
    assert_handled(send(client, method, url, data=query), f"{url}?{query}")
