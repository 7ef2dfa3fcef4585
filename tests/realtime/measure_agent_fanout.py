"""Measurement, not a test (pytest does not collect it from the directory): 100 agent sockets on
one daphne with Redis, events at up to 200/s; delivery latency from each event's time to each socket
and daphne's resident memory per socket. Run:
REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/pytest -s tests/realtime/measure_agent_fanout.py"""

import asyncio
import json
import statistics
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import websockets
from django.db import connections

from tests import factories
from tests.realtime.conftest import token_for
from tests.realtime.live import daphne
from ticketing.events import ticket_event_record

pytestmark = [pytest.mark.django_db(transaction=True)]
AGENTS, EVENTS, RATE = 100, 200, 200


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_measure(org, settings):
    queue = factories.queue("Billing", team_=org.billing_team, is_default=True)
    ticket = factories.ticket(queue_=queue)
    keys = [token_for(factories.agent(f"bench{n}", teams=[org.billing_team])) for n in range(AGENTS)]
    with daphne(settings) as server:
        base = server.base.replace("http://", "ws://")
        before = rss_kb(server.process.pid)
        latencies = []

        async def listen(key, ready, done):
            async with websockets.connect(f"{base}/ws/agent/?token={key}", origin=server.base, max_queue=None) as ws:
                await ws.recv()
                ready.set()
                got = 0
                while got < EVENTS:
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    except TimeoutError:
                        break
                    if frame["type"] == "event":
                        got += 1
                        sent = datetime.fromisoformat(frame["event"]["at"]).timestamp()
                        latencies.append(time.time() - sent)
                done.set()

        def produce():
            for _ in range(EVENTS):
                ticket_event_record(ticket=ticket, kind="note.added")
                time.sleep(1 / RATE)
            connections.close_all()

        async def main():
            readies = [asyncio.Event() for _ in keys]
            dones = [asyncio.Event() for _ in keys]
            tasks = [asyncio.create_task(listen(k, r, d)) for k, r, d in zip(keys, readies, dones, strict=True)]
            for r in readies:
                await r.wait()
            connected = rss_kb(server.process.pid)
            started = time.time()
            thread = threading.Thread(target=produce)
            thread.start()
            await asyncio.gather(*tasks)
            thread.join()
            return connected, time.time() - started

        connected, took = asyncio.run(main())
        latencies.sort()
        q = statistics.quantiles(latencies, n=100)
        print(
            f"\nagents={AGENTS} events={EVENTS} target_rate={RATE}/s achieved={EVENTS / took:.0f}/s "
            f"deliveries={len(latencies)}/{AGENTS * EVENTS} p50={q[49] * 1000:.1f}ms p99={q[98] * 1000:.1f}ms "
            f"rss_before={before}kB rss_connected={connected}kB per_socket={(connected - before) / AGENTS:.0f}kB"
        )
