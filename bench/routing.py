"""`python -m bench.routing`: skills-based routing at contact-center size on PostgreSQL.

500 agents (online, each in one or two of 20 teams, skills 1–5, email capacity 10,
chat capacity 3), 20 routed queues, 10,000 waiting tickets. Measured:

1. Routing decisions per second: worker processes run the routing sweep (the same
   `routing_sweep` the `run_worker` duty runs every second) until every agent is at
   capacity or the time is up; a decision is an offer made (each one a capacity check
   under the agent's profile lock, an offer row and its event; the sweep decides 50
   waiting tickets per transaction). One worker, then two on the same data.
2. Ticket created → offer frame received: a process creates tickets one at a time
   (free agents, nothing else waiting); the on-commit trigger routes it and the
   offer event goes through the Redis channel layer to daphne's /ws/agent/ consumer
   and on to real websocket clients (one per online agent, API-token sign-in). The
   clock starts when the ticket's transaction commits and stops when the frame
   arrives. (`python -m bench.routing latency` measures the same to a bare
   channel-layer subscriber, without daphne.)

Environment:
  BENCH_QUICK=1        smoke run (40 agents, 4 queues, 400 tickets, few samples); writes nothing
  BENCH_POSTGRES_URL   server for the throwaway database (default postgres://postgres@127.0.0.1:5432/)
  BENCH_REDIS_URL      channel layer (default redis://127.0.0.1:6379/13)
  BENCH_AGENTS, BENCH_QUEUES, BENCH_TICKETS, BENCH_SAMPLES, BENCH_SWEEP_SECONDS   override the sizes
  BENCH_WRITE=0/1      write the "routing" section of docs/benchmarks.md (default 1, 0 with BENCH_QUICK)
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

NAME = "routing"
WARMUP = 5
TARGET_DECISIONS = 500
TARGET_P99_MS = 50.0


@dataclass
class Config:
    quick: bool
    agents: int
    queues: int
    tickets: int
    samples: int
    sweep_seconds: float
    postgres_url: str
    redis_url: str
    write: bool


def config_from_env() -> Config:
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0", "false"}

    def number(name, default):
        return int(os.environ.get(name) or default)

    return Config(
        quick=quick,
        agents=number("BENCH_AGENTS", 40 if quick else 500),
        queues=number("BENCH_QUEUES", 4 if quick else 20),
        tickets=number("BENCH_TICKETS", 400 if quick else 10_000),
        samples=number("BENCH_SAMPLES", 20 if quick else 300),
        sweep_seconds=float(os.environ.get("BENCH_SWEEP_SECONDS") or (10 if quick else 40)),
        postgres_url=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        write=os.environ.get("BENCH_WRITE", "0" if quick else "1") not in {"", "0", "false"},
    )


def say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- inside the Django process


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.settings")
    django.setup()


def load(*, agents: int, queues: int, tickets: int, seed: int = 5) -> dict:
    """Agents, teams, skills, routed queues and waiting tickets, bulk-created."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import AgentProfile, AgentSkill, Presence, Skill, Team, User
    from crm.services import person_create
    from routing.models import QueueRouting, RoutingStep, TicketRouting
    from ticketing.models import Queue, Ticket
    from ticketing.services import TICKET_NUMBER_OFFSET

    rng = random.Random(seed)
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        skills = [Skill.objects.create(code=f"s{n}", name=f"Skill {n}") for n in range(queues)]
        teams = [Team.objects.create(name=f"Team {n}") for n in range(queues)]
        users = User.objects.bulk_create(
            [User(username=f"bench_agent{n}", display_name=f"Agent {n}") for n in range(agents)]
        )
        profiles = AgentProfile.objects.bulk_create(
            [
                AgentProfile(
                    user=u,
                    languages=rng.choice([["zh"], ["en"], ["zh", "en"]]),
                    presence=Presence.ONLINE,
                    capacity_email=10,
                    capacity_chat=3,
                    last_assigned_at=now - dt.timedelta(seconds=rng.randint(0, 3600)),
                )
                for u in users
            ]
        )
        memberships, agent_skills = [], []
        for n, (user, profile) in enumerate(zip(users, profiles, strict=True)):
            own = {n % queues, rng.randrange(queues)}
            for q in own:
                memberships.append(Team.members.through(team_id=teams[q].id, user_id=user.id))
                agent_skills.append(AgentSkill(agent=profile, skill=skills[q], level=rng.randint(1, 5)))
        Team.members.through.objects.bulk_create(memberships)
        from accounts.roles import AGENT, role_group

        group = role_group(AGENT)  # the console socket is for users who work tickets
        User.groups.through.objects.bulk_create([User.groups.through(user_id=u.id, group_id=group.id) for u in users])
        AgentSkill.objects.bulk_create(agent_skills)
        queue_rows = [Queue.objects.create(name=f"Queue {n}", team=teams[n], is_default=n == 0) for n in range(queues)]
        for n, queue in enumerate(queue_rows):
            rule = QueueRouting.objects.create(
                queue=queue, priority=n % 3, target=f"s{n} >= 2", skill=skills[n], offer_timeout_seconds=600
            )
            RoutingStep.objects.create(rule=rule, position=1, after_seconds=300, target=f"s{n} >= 1")
        customer = person_create(by=None, name="Bench customer", emails=["bench@example.com"])
        rows = []
        for n in range(tickets):
            queue = queue_rows[n % queues]
            created = now - dt.timedelta(seconds=tickets - n)
            rows.append(
                Ticket(
                    subject=f"Waiting {n}",
                    channel="chat" if n % 5 == 0 else "email",
                    priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                    customer=customer,
                    queue=queue,
                    team_id=queue.team_id,
                    created_at=created,
                    updated_at=created,
                )
            )
        made = Ticket.objects.bulk_create(rows, batch_size=1000)
        for ticket in made:
            ticket.number = TICKET_NUMBER_OFFSET + ticket.pk
        Ticket.objects.bulk_update(made, ["number"], batch_size=1000)
        rules = {r.queue_id: r.pk for r in QueueRouting.objects.all()}
        TicketRouting.objects.bulk_create(
            [TicketRouting(ticket=t, rule_id=rules[t.queue_id], waiting_since=t.created_at) for t in made],
            batch_size=1000,
        )
    return {"agents": agents, "queues": queues, "tickets": len(made), "seconds": round(time.monotonic() - started, 1)}


def reset() -> dict:
    """Back to 'everything waits, nobody has an offer'."""
    from routing.models import Offer, RoutingDecision, TicketRouting
    from ticketing.models import TicketEvent

    TicketEvent.objects.filter(kind__startswith="offer.").delete()
    Offer.objects.all().delete()
    RoutingDecision.objects.all().delete()
    TicketRouting.objects.update(last_signature="")
    return {"ok": True}


def sweep(*, seconds: float) -> dict:
    """Sweep until no offer is made or time is up; offers made and the time it took."""
    from routing.services import routing_sweep

    started = last_offer = time.monotonic()
    made = 0
    idle_rounds = 0
    while time.monotonic() - started < seconds:
        round_made = routing_sweep(limit=1000)
        made += round_made
        if round_made:
            last_offer = time.monotonic()
        idle_rounds = idle_rounds + 1 if round_made == 0 else 0
        if idle_rounds >= 2:
            break
    # The clock stops after the last round that made offers (the idle rounds that notice "all full" don't count).
    return {"offers": made, "seconds": max(last_offer - started, 1e-3)}


def latency(*, samples: int, redis_url: str) -> dict:
    """Create tickets one at a time; time from commit to the offer frame at an agent-group subscriber."""
    import asyncio

    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from django.db import transaction

    from accounts.models import User
    from crm.models import Person
    from routing.models import TicketRouting
    from ticketing.models import Queue
    from ticketing.services import ticket_create

    TicketRouting.objects.update(waiting_since=None)  # nothing else waits: measure the path, not the backlog
    layer = get_channel_layer()
    agent_ids = list(User.objects.filter(agent_profile__isnull=False).values_list("id", flat=True))
    customer = Person.objects.get(name="Bench customer")
    queues = list(Queue.objects.filter(routing__isnull=False))
    committed: dict[str, float] = {}

    def create(n: int) -> int:
        with transaction.atomic():
            key = f"latency {n}"
            transaction.on_commit(lambda: committed.__setitem__(key, time.perf_counter()))
            return ticket_create(
                by=None, customer=customer, subject=key, channel="email", queue=queues[n % len(queues)], body_text="hi"
            ).pk

    async def run() -> list[float]:
        channel = await layer.new_channel()
        for agent_id in agent_ids:
            await layer.group_add(f"agent.{agent_id}", channel)
        results = []
        for n in range(samples):
            ticket_id = await sync_to_async(create, thread_sensitive=True)(n)
            while True:
                message = await asyncio.wait_for(layer.receive(channel), 10)
                event = message.get("event", {})
                if event.get("kind") == "offer.created" and event["ticket"]["id"] == ticket_id:
                    results.append((time.perf_counter() - committed[f"latency {n}"]) * 1000)
                    break
        return results

    values = sorted(asyncio.run(run()))
    return {"samples": len(values), "p50_ms": _percentile(values, 0.5), "p99_ms": _percentile(values, 0.99)}


def latency_websocket(*, samples: int, port: int, consoles: int) -> dict:
    """Like `latency`, but the receivers are real websocket clients on /ws/agent/ (daphne, token
    sign-in), one per online agent: `consoles` agents are online, every other agent offline."""
    import asyncio

    import websockets
    from asgiref.sync import sync_to_async
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import AgentProfile, AgentSkill, Presence
    from crm.models import Person
    from routing.models import TicketRouting
    from ticketing.models import Queue
    from ticketing.services import ticket_create

    TicketRouting.objects.update(waiting_since=None)
    online = list(AgentProfile.objects.order_by("id")[:consoles])
    AgentProfile.objects.exclude(pk__in=[p.pk for p in online]).update(presence=Presence.OFFLINE)
    # Room for every sample: this phase measures the path of one offer, not capacity.
    AgentProfile.objects.filter(pk__in=[p.pk for p in online]).update(presence=Presence.ONLINE, capacity_email=1000)
    AgentSkill.objects.filter(agent__in=online).update(level=5)  # every queue has an eligible online agent
    tokens = [Token.objects.get_or_create(user_id=p.user_id)[0].key for p in online]
    customer = Person.objects.get(name="Bench customer")
    queues = list(Queue.objects.filter(routing__isnull=False))
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    waiters: dict[int, asyncio.Event] = {}

    def create(n: int) -> int:
        stamp: dict = {}
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.setdefault("t", time.perf_counter()))
            ticket = ticket_create(
                by=None, customer=customer, subject=f"ws {n}", channel="email", queue=queues[n % len(queues)]
            )
        committed[ticket.pk] = stamp["t"]
        return ticket.pk

    async def listen(socket) -> None:
        async for text in socket:
            frame = json.loads(text)
            event = frame.get("event") or {}
            if frame.get("type") == "event" and event.get("kind") == "offer.created":
                ticket_id = event["ticket"]["id"]
                arrived.setdefault(ticket_id, time.perf_counter())
                waiters.setdefault(ticket_id, asyncio.Event()).set()

    async def run() -> list[float]:
        url = f"ws://127.0.0.1:{port}/ws/agent/"
        sockets = []
        for key in tokens:
            socket = await websockets.connect(url, subprotocols=[f"token.{key}"], origin=f"http://127.0.0.1:{port}")
            hello = json.loads(await socket.recv())
            if hello.get("type") != "hello":
                raise SystemExit(f"/ws/agent/ refused the bench agent: {hello}")
            sockets.append(socket)
        listeners = [asyncio.create_task(listen(socket)) for socket in sockets]
        results = []
        for n in range(-WARMUP, samples):
            ticket_id = await sync_to_async(create, thread_sensitive=True)(n)
            await asyncio.wait_for(waiters.setdefault(ticket_id, asyncio.Event()).wait(), 10)
            if n >= 0:  # the first few warm the process's caches and connections
                results.append((arrived[ticket_id] - committed[ticket_id]) * 1000)
        for task in listeners:
            task.cancel()
        for socket in sockets:
            await socket.close()
        return results

    values = sorted(asyncio.run(run()))
    return {
        "samples": len(values),
        "p50_ms": _percentile(values, 0.5),
        "p99_ms": _percentile(values, 0.99),
        "receiver": "websocket",
        "consoles": consoles,
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    index = max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))  # nearest rank
    return round(values[index], 1)


# ---------------------------------------------------------------- the orchestrating process


def _child(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.Popen:
    from bench.server import ROOT

    return subprocess.Popen(
        [sys.executable, "-m", "bench.routing", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(child: subprocess.Popen, timeout: float = 900) -> dict:
    out, err = child.communicate(timeout=timeout)
    if child.returncode != 0:
        raise SystemExit(f"bench.routing child failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _sweep_run(env: dict[str, str], workers: int, seconds: float) -> dict:
    _result(_child(["reset"], env))
    started = time.monotonic()
    children = [_child(["sweep", "--seconds", str(seconds)], env) for _ in range(workers)]
    parts = [_result(child) for child in children]
    elapsed = max(p["seconds"] for p in parts) or (time.monotonic() - started)
    offers = sum(p["offers"] for p in parts)
    return {"workers": workers, "offers": offers, "seconds": round(elapsed, 2), "per_second": round(offers / elapsed)}


def render(cfg: Config, loaded: dict, sweeps: list[dict], lat: dict, machine: dict) -> str:
    from bench import report

    rows = [
        [
            str(s["workers"]),
            f"{s['offers']:,}",
            f"{s['seconds']:.1f}",
            f"**{s['per_second']:,}**",
            "yes" if s["per_second"] >= TARGET_DECISIONS else "**no**",
        ]
        for s in sweeps
    ]
    return "\n".join(
        [
            "## Routing: decisions per second and offer latency",
            "",
            "Command: `.venv/bin/python -m bench.routing` (PostgreSQL, Redis channel layer).  ",
            f"Date: {report.now_line()}.  ",
            f"Machine: {report.machine_line(machine)}.",
            "",
            f"Data: {loaded['agents']:,} online agents (each in 1–2 of {loaded['queues']} teams, one skill per team "
            f"at level 1–5, email capacity 10, chat capacity 3), {loaded['queues']} routed queues (target "
            f"`s<n> >= 2`, one overflow step), {loaded['tickets']:,} waiting tickets (one in five a chat); "
            f"bulk-loaded in {loaded['seconds']:.0f} s.",
            "",
            "Decisions: worker processes run `routing_sweep` (the `routing_sweep` duty of `run_worker`) from the "
            "same starting point (every ticket waiting, no offers) until every agent is at capacity or "
            f"{cfg.sweep_seconds:.0f} s pass. A decision is one offer made: ranking the agents for a waiting "
            "ticket, with its routing row and the chosen agent's profile locked (SKIP LOCKED) and the agent's load "
            "counted under that lock, and writing the offer and its event. The sweep decides up to 50 tickets per "
            f"transaction and writes their offers and events in bulk. Target: {TARGET_DECISIONS} per second.",
            "",
            report.table(["workers", "offers made", "seconds", "decisions/s", "target met"], rows),
            "",
            f"Latency ticket created → offer frame received, {lat['samples']} tickets (after {WARMUP} warm-up ones) "
            "created one at a time by one process, no backlog: the on-commit trigger routes the ticket in the "
            "creating process and `offer.created` goes through the Redis channel layer to daphne's /ws/agent/ "
            f"consumer and on to a real websocket client (the `websockets` package, API-token sign-in): "
            f"{lat.get('consoles', '?')} agents are online, each with a console socket open, all others offline. "
            "Clock: from the commit of the ticket's transaction to the frame's arrival at the client. "
            f"p50 **{lat['p50_ms']:.1f} ms**, p99 **{lat['p99_ms']:.1f} ms** (target p99 under "
            f"{TARGET_P99_MS:.0f} ms: {'yes' if lat['p99_ms'] < TARGET_P99_MS else '**no**'}).",
            "",
        ]
    )


def main() -> None:
    from bench import report, server

    cfg = config_from_env()
    if not server.postgres_reachable(cfg.postgres_url):
        raise SystemExit(f"PostgreSQL at {cfg.postgres_url} is not reachable; this benchmark needs it.")
    machine = report.machine(cfg.postgres_url)
    machine["load_start"] = report.load_average()
    say(f"routing benchmark: {cfg.agents} agents, {cfg.queues} queues, {cfg.tickets:,} waiting tickets")
    with server.database("postgresql", cfg.postgres_url) as env:
        env["REDIS_URL"] = cfg.redis_url
        server.run_python(["manage.py", "migrate", "--no-input", "-v", "0"], env)
        loaded = _result(
            _child(
                ["load", "--agents", str(cfg.agents), "--queues", str(cfg.queues), "--tickets", str(cfg.tickets)], env
            )
        )
        say(f"  loaded in {loaded['seconds']} s")
        sweeps = []
        for workers in (1, 2):
            result = _sweep_run(env, workers, cfg.sweep_seconds)
            say(f"  {workers} worker(s): {result['offers']} offers in {result['seconds']} s = {result['per_second']}/s")
            sweeps.append(result)
        _result(_child(["reset"], env))
        log_path = Path(env["VAR_DIR"]) / "daphne.log"
        with server.daphne(env, log_path=log_path) as port:
            try:
                lat = _result(
                    _child(["latency-ws", "--samples", str(cfg.samples), "--port", str(port), "--consoles", "40"], env)
                )
            except SystemExit:
                say("daphne log:\n" + log_path.read_text(errors="replace")[-4000:])
                raise
        say(f"  latency: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms over {lat['samples']} tickets (websocket)")
    machine["load"] = report.load_average()
    body = render(cfg, loaded, sweeps, lat, machine)
    if cfg.write:
        report.write_section(NAME, body)
        say(f"wrote section {NAME!r} of docs/benchmarks.md")
    else:
        say(body)


def _cli(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="bench.routing")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("load")
    p.add_argument("--agents", type=int, required=True)
    p.add_argument("--queues", type=int, required=True)
    p.add_argument("--tickets", type=int, required=True)
    sub.add_parser("reset")
    p = sub.add_parser("sweep")
    p.add_argument("--seconds", type=float, required=True)
    p = sub.add_parser("latency")
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--redis", required=True)
    p = sub.add_parser("latency-ws")
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--consoles", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command is None:
        main()
        return
    _setup()
    if args.command == "load":
        result = load(agents=args.agents, queues=args.queues, tickets=args.tickets)
    elif args.command == "reset":
        result = reset()
    elif args.command == "sweep":
        result = sweep(seconds=args.seconds)
    elif args.command == "latency-ws":
        result = latency_websocket(samples=args.samples, port=args.port, consoles=args.consoles)
    else:
        result = latency(samples=args.samples, redis_url=args.redis)
    print(json.dumps(result))


if __name__ == "__main__":
    _cli(sys.argv[1:])
