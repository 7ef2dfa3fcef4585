"""The benchmark harness on tiny data, so it cannot rot between `make bench` runs:
the bulk loader, one timed measurement per endpoint, the query breakdown and the
report writer. (The figures themselves come from `make bench`, not from here.)"""

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import User
from bench import client as bench_client
from bench import explain, loader, report, run
from crm.models import Identity, Person
from ticketing.models import Ticket


@pytest.fixture
def loaded(db):
    return loader.load(tickets=300, customers=120)


def test_loader_writes_consistent_rows(loaded):
    assert loaded["counts"]["tickets"] == Ticket.objects.count() == 300
    assert loaded["counts"]["customers"] == Person.objects.count() == 120
    numbers = list(Ticket.objects.values_list("id", "number"))
    assert all(number == 10000 + pk for pk, number in numbers)
    # Every ticket's team is its queue's team; its company is the customer's primary company.
    for ticket in Ticket.objects.select_related("queue")[:100]:
        assert ticket.team_id == ticket.queue.team_id
        link = ticket.customer.company_links.filter(is_primary=True).first()
        assert ticket.company_id == (link.company_id if link else None)
    assert Identity.objects.filter(kind="email").count() == 120
    for person in Person.objects.exclude(id_number=""):
        assert len(person.id_number) == 18  # decrypts with the configured key
    scope = loaded["scope"]
    assert 0 < scope["agent_tickets"] < scope["supervisor_tickets"] == 300
    assert 0 < scope["agent_customers"] < scope["supervisor_customers"] == 120
    # New rows after the bulk load get fresh ids (sequences were moved past the explicit ids).
    assert Ticket.objects.create(subject="after", channel="web", customer=Person.objects.first()).pk > 300


def test_one_measurement_per_endpoint_and_the_report(loaded, client, tmp_path):
    agent = User.objects.get(username=loaded["users"]["agent"])
    token = Token.objects.create(user=agent)

    def get(path):
        response = client.get(path, secure=True, HTTP_AUTHORIZATION=f"Token {token.key}")
        return response.status_code, response.content

    results = []
    for endpoint, path in run.ENDPOINTS:
        measured = bench_client.measure(get, path, label=endpoint, requests=3, runs=2, warmup=1)
        assert measured.requests == 6 and measured.median("p95_ms") > 0
        results.append({"database": "test", "role": "agent", "user": agent.username, "endpoint": endpoint})
        results[-1].update(measured.as_dict())
    assert results[0]["total_count"] == loaded["scope"]["agent_tickets"]
    assert results[1]["total_count"] == loaded["scope"]["agent_customers"]

    breakdown = explain.explain(agent.username, [path for _, path in run.ENDPOINTS], repeat=1)
    for _, path in run.ENDPOINTS:
        assert breakdown[path]["status"] == 200 and breakdown[path]["queries"]
        assert all(plan["plan"] for plan in breakdown[path]["plans"])
    assert explain._plan(breakdown["/api/v1/tickets/"]["queries"][-1]["sql"])

    cfg = run.Config(
        quick=True,
        tickets=300,
        customers=120,
        requests=3,
        runs=2,
        warmup=1,
        databases=["test"],
        postgres_url="",
        write=False,
    )
    passes = [{"database": "test", "migrate_s": 0, "loaded": loaded, "results": results, "explain": breakdown}]
    body = run.render(passes, {"postgresql": "not reachable"}, cfg, report.machine())
    assert "/api/v1/tickets/" in body and "p95 ms" in body and "not run" in body
    doc = tmp_path / "benchmarks.md"
    report.write_section("smoke", body, doc)
    report.write_section("other", "## Other\n", doc)
    report.write_section("smoke", body, doc)
    text = doc.read_text()
    assert text.count("<!-- bench:smoke:begin -->") == 1 and "## Other" in text


def test_measure_reports_a_missing_route_clearly():
    with pytest.raises(bench_client.BenchError, match="404"):
        bench_client.measure(lambda path: (404, b"{}"), "/api/v1/nothing/", requests=1, runs=1, warmup=0)


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert bench_client.percentile(values, 0.95) == 95.0
    assert bench_client.percentile(values, 0.5) == 50.0
    assert bench_client.percentile([7.0], 0.95) == 7.0
