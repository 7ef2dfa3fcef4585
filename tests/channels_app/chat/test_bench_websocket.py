"""The websocket benchmark's harness on tiny data, so it cannot rot between runs: the data set-up,
percentiles with undelivered messages, and the report. (The figures come from `python -m bench.websocket`.)"""

import math

from accounts.models import AgentProfile, Presence
from bench import websocket
from channels_app.chat.tokens import visitor_token_read
from ticketing.models import Channel, Ticket


def test_setup_makes_teams_agents_and_waiting_visitors(transactional_db):
    data = websocket.setup(visitors=6, agents=4, teams=2)
    assert len(data["agents"]) == 4 and len({a["team"] for a in data["agents"]}) == 2
    assert AgentProfile.objects.filter(presence=Presence.ONLINE).count() == 4
    assert len(data["visitors"]) == 6
    for visitor in data["visitors"]:
        assert visitor_token_read(visitor["token"], widget_key=visitor["key"])
        ticket = Ticket.objects.get(pk=visitor["ticket"])
        assert ticket.channel == Channel.CHAT and ticket.team_id == visitor["team"]


def test_undelivered_messages_count_as_infinitely_late():
    assert websocket.percentile([10, 20, 30, 40], 50) == 20
    assert websocket.percentile([10] * 99, 99, missing=1) == 10
    assert math.isinf(websocket.percentile([10] * 98, 99, missing=2))


def test_report_states_rates_latencies_and_memory():
    cfg = websocket.Config(
        quick=True,
        visitors=10,
        agents=4,
        teams=2,
        rate=200,
        seconds=5,
        runs=1,
        low_rate=10,
        low_seconds=5,
        low_runs=1,
        drain=20,
        database="sqlite",
        postgres_url="",
        redis_url="",
        write=False,
    )
    run = {
        "rate_offered": 200,
        "throughput": 40,
        "delivered": 9,
        "expected": 10,
        "acked": 5,
        "errors": 0,
        "p50_ms": 50.0,
        "p99_ms": float("inf"),
        "first_p50_ms": 40.0,
        "first_p99_ms": 90.0,
        "ack_p50_ms": 30.0,
        "ack_p99_ms": 80.0,
        "sent": 5,
        "rate": 200,
        "lost_visitors": 1,
        "lost_agents": 0,
    }
    result = {
        "database": "sqlite",
        "setup_s": 1,
        "connect_s": 1,
        "connections": 14,
        "rss_before_kib": 1024,
        "rss_after_kib": 2048,
        "rss_end_kib": 3072,
        "per_connection_kib": 73.1,
        "phases": {"offered": [run], "low": [dict(run, rate_offered=10, p99_ms=60.0)]},
    }
    body = websocket.render(
        result,
        cfg,
        {
            "nproc": "2",
            "cpu": "x",
            "ram": "1 GiB",
            "os": "Linux",
            "python": "3",
            "django": "5",
            "sqlite": "3",
            "load": "0",
        },
    )
    assert "| target rate | 200/s | 40/s | 50.0 ms | not delivered |" in body
    assert "| sustained | 10/s |" in body and "60.0 ms" in body
    assert "73 KiB per connection" in body and "Target met: **no**" in body
    assert "after the target-rate run 1 chat, 0 agent" in body


def test_cpu_per_message_is_read_from_the_server_process():
    import os

    spent = websocket.cpu_seconds(os.getpid())
    sum(range(2_000_000))
    assert websocket.cpu_seconds(os.getpid()) > spent >= 0
