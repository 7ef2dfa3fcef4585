"""`python -m bench.websocket`: live chat over websockets at load.

One daphne process (DEBUG off, the production settings) with the Redis channel layer on a
throwaway database; 1,000 visitors connected to `/ws/chat/<key>/` and 100 agents connected to
`/ws/agent/` with API tokens (10 teams of 10 agents, each team with its own queue and widget;
each visitor already has a conversation waiting in a team's queue). Visitors send at a fixed
total rate; the figure is the time from a visitor's `message` frame leaving the client to the
`message.received` event arriving on each agent socket of the team (persisted on the way:
the server stores the message before it publishes the event). Also: the visitor's ack time,
and memory per connection (daphne's RSS before and after the sockets connect, divided).

Environment:
  BENCH_QUICK=1             smoke run (50 visitors, 10 agents, 20 msg/s for 4 s, one run); writes nothing
  BENCH_DATABASE            postgresql (default when reachable) or sqlite
  BENCH_POSTGRES_URL        server for the throwaway database (default postgres://postgres@127.0.0.1:5432/)
  BENCH_REDIS_URL           Redis for the channel layer (default REDIS_URL, else redis://127.0.0.1:6379/13)
  BENCH_VISITORS, BENCH_AGENTS, BENCH_TEAMS, BENCH_RATE, BENCH_SECONDS, BENCH_RUNS   override the sizes
  BENCH_WRITE=0/1           write docs/benchmarks.md (default: 1, or 0 with BENCH_QUICK)

The channel layer's keys ("asgi*") in that Redis database are deleted before daphne starts: groups
left by the servers of earlier runs would otherwise make every group send write to dead channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import report, server

try:
    from websockets.exceptions import ConnectionClosed
except ImportError:  # only the load needs it
    ConnectionClosed = OSError

NAME = "websocket"
TARGET_P99_MS = 100.0


@dataclass
class Config:
    quick: bool
    visitors: int
    agents: int
    teams: int
    rate: float
    seconds: float
    runs: int
    low_rate: float
    low_seconds: float
    low_runs: int
    drain: float
    database: str
    postgres_url: str
    redis_url: str
    write: bool


def _num(name: str, default, cast=int):
    return cast(os.environ.get(name) or default)


def config_from_env() -> Config:
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0", "false"}
    postgres_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
    database = os.environ.get("BENCH_DATABASE") or (
        "postgresql" if server.postgres_reachable(postgres_url) else "sqlite"
    )
    if database not in {"sqlite", "postgresql"}:
        raise SystemExit("BENCH_DATABASE: sqlite or postgresql")
    write_default = "0" if quick else "1"
    return Config(
        quick=quick,
        visitors=_num("BENCH_VISITORS", 50 if quick else 1000),
        agents=_num("BENCH_AGENTS", 10 if quick else 100),
        teams=_num("BENCH_TEAMS", 2 if quick else 10),
        rate=_num("BENCH_RATE", 20 if quick else 200, float),
        seconds=_num("BENCH_SECONDS", 3 if quick else 5, float),
        runs=_num("BENCH_RUNS", 1),
        low_rate=_num("BENCH_LOW_RATE", 5 if quick else 10, float),
        low_seconds=_num("BENCH_LOW_SECONDS", 3 if quick else 6, float),
        low_runs=_num("BENCH_LOW_RUNS", 1 if quick else 3),
        drain=_num("BENCH_DRAIN", 15 if quick else 40, float),
        database=database,
        postgres_url=postgres_url,
        redis_url=os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13",
        write=os.environ.get("BENCH_WRITE", write_default) not in {"0", "false", ""},
    )


def say(message: str) -> None:
    print(message, flush=True)


# --- data (runs inside the server's environment) --------------------------------------------


def setup(visitors: int, agents: int, teams: int) -> dict:
    """Teams with a queue, a widget and online agents (API tokens); visitors each with a waiting chat."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.settings")
    django.setup()
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import AgentProfile, Presence, Team, User
    from accounts.roles import AGENT, role_group
    from channels_app.chat.models import ChatVisitor, ChatWidget
    from channels_app.chat.tokens import visitor_id_new, visitor_token_issue
    from crm.models import Identity, IdentityKind, Person, Source
    from ticketing.events import publishing_paused
    from ticketing.models import Channel, Direction, Message, Queue, Ticket
    from ticketing.services import TICKET_NUMBER_OFFSET

    group = role_group(AGENT)
    out: dict = {"agents": [], "visitors": []}
    with transaction.atomic(), publishing_paused():
        widgets = []
        for n in range(teams):
            team = Team.objects.create(name=f"Bench team {n}")
            queue = Queue.objects.create(name=f"Bench queue {n}", team=team, is_default=n == 0)
            widgets.append(
                ChatWidget.objects.create(
                    key=f"bench{n}", name=f"Bench {n}", allowed_origins=["http://127.0.0.1:*"], queue=queue
                )
            )
        team_list = list(Team.objects.order_by("id"))
        for n in range(agents):
            team = team_list[n % teams]
            user = User.objects.create_user(username=f"bench_agent{n}", password=None)
            user.groups.add(group)
            team.members.add(user)
            AgentProfile.objects.create(user=user, languages=["zh", "en"], presence=Presence.ONLINE)
            out["agents"].append({"token": Token.objects.create(user=user).key, "team": team.pk})
        # Visitors with a waiting conversation, bulk-written (the same rows the chat path writes):
        # a person with a chat identity, a new chat ticket in the team's queue, its first message.
        specs = []
        for n in range(visitors):
            widget = widgets[n % teams]
            specs.append((widget, visitor_id_new()))
        people = Person.objects.bulk_create(
            [Person(name=f"访客 {n}", language="zh", source=Source.CHAT) for n in range(visitors)]
        )
        Identity.objects.bulk_create(
            [
                Identity(person=person, kind=IdentityKind.CHAT, value=f"{widget.key}:{vid}")
                for person, (widget, vid) in zip(people, specs, strict=True)
            ]
        )
        now = timezone.now()
        tickets = Ticket.objects.bulk_create(
            [
                Ticket(
                    subject=f"访客 {n} 你好",
                    channel=Channel.CHAT,
                    customer=person,
                    queue=widget.queue,
                    team_id=widget.queue.team_id,
                    language="zh-hans",
                    created_at=now,
                    updated_at=now,
                )
                for n, (person, (widget, _)) in enumerate(zip(people, specs, strict=True))
            ]
        )
        for ticket in tickets:
            ticket.number = TICKET_NUMBER_OFFSET + ticket.pk
        Ticket.objects.bulk_update(tickets, ["number"])
        Message.objects.bulk_create(
            [
                Message(
                    ticket=ticket,
                    direction=Direction.INBOUND,
                    channel=Channel.CHAT,
                    external_id=f"chat:{widget.key}:{vid}:first",
                    body_text=ticket.subject,
                    created_at=now,
                )
                for ticket, (widget, vid) in zip(tickets, specs, strict=True)
            ]
        )
        ChatVisitor.objects.bulk_create(
            [
                ChatVisitor(widget=widget, visitor_id=vid, language="zh-hans", ticket=ticket)
                for ticket, (widget, vid) in zip(tickets, specs, strict=True)
            ]
        )
        for ticket, (widget, vid) in zip(tickets, specs, strict=True):
            out["visitors"].append(
                {
                    "key": widget.key,
                    "token": visitor_token_issue(widget_key=widget.key, visitor_id=vid),
                    "ticket": ticket.pk,
                    "team": ticket.team_id,
                }
            )
    return out


# --- the load --------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float, missing: int = 0) -> float:
    """The q-th percentile; `missing` values (never arrived) count as infinitely late."""
    values = list(values) + [float("inf")] * max(missing, 0)
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[index]


@dataclass
class RunResult:
    sent: int = 0
    acked: int = 0
    expected: int = 0
    deliveries: list[float] = field(default_factory=list)  # ms, one per (message, agent socket)
    first: list[float] = field(default_factory=list)  # ms, first agent socket per message
    acks: list[float] = field(default_factory=list)  # ms, visitor's ack
    errors: int = 0
    achieved_rate: float = 0.0
    drained_s: float = 0.0
    per_agent: dict[int, int] = field(default_factory=dict)
    skipped: int = 0


class Load:
    def __init__(self, port: int, data: dict, cfg: Config):
        self.port, self.data, self.cfg = port, data, cfg
        self.origin = f"http://127.0.0.1:{port + 1}"
        self.visitor_sockets: list = []
        self.agent_sockets: list = []
        self.pending: dict[int, float] = {}  # ticket id → send time
        self.first_seen: set[int] = set()
        self.ack_sent: dict[str, float] = {}
        self.result = RunResult()
        self.team_agents: dict[int, list[int]] = {}
        for i, agent in enumerate(data["agents"]):
            self.team_agents.setdefault(agent["team"], []).append(i)

    async def connect_all(self) -> None:
        from websockets.asyncio.client import connect

        async def visitor(n: int, spec: dict):
            # Spread visitors over loopback addresses, 10 per address, as real visitors come from many.
            local = f"127.0.{1 + n // 2500}.{2 + (n // 10) % 250}"
            ws = await connect(
                f"ws://127.0.0.1:{self.port}/ws/chat/{spec['key']}/",
                origin=self.origin,
                local_addr=(local, 0),
                max_queue=None,
                ping_interval=None,
            )
            await ws.send(json.dumps({"type": "hello", "token": spec["token"], "language": "zh"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "welcome":
                    break
            return ws

        visitors = self.data["visitors"]
        for start in range(0, len(visitors), 50):
            batch = visitors[start : start + 50]
            self.visitor_sockets += await asyncio.gather(*(visitor(start + i, v) for i, v in enumerate(batch)))
        # Agents last, as before: a socket that fails in daphne is closed with 1011; the console reconnects,
        # the benchmark would just lose it.
        agent_url = f"ws://127.0.0.1:{self.port}/ws/agent/"
        for agent in self.data["agents"]:
            ws = await connect(
                agent_url,
                origin=f"http://127.0.0.1:{self.port}",
                subprotocols=[f"token.{agent['token']}"],
                max_queue=None,
                ping_interval=None,
            )
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                raise RuntimeError(f"agent socket refused: {hello}")
            self.agent_sockets.append(ws)

    async def agent_reader(self, ws, index: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._agent_frames(ws, index)

    async def _agent_frames(self, ws, index: int) -> None:
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "event":
                continue
            event = frame.get("event") or {}
            if event.get("kind") != "message.received":
                continue
            ticket = (event.get("ticket") or {}).get("id")
            sent_at = self.pending.get(ticket)
            if sent_at is None:
                continue
            latency = (now - sent_at) * 1000
            self.result.deliveries.append(latency)
            self.result.per_agent[index] = self.result.per_agent.get(index, 0) + 1
            if ticket not in self.first_seen:
                self.first_seen.add(ticket)
                self.result.first.append(latency)

    async def visitor_reader(self, ws) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._visitor_frames(ws)

    async def _visitor_frames(self, ws) -> None:
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "ack":
                sent_at = self.ack_sent.pop(frame.get("client_id"), None)
                if sent_at is not None:
                    self.result.acked += 1
                    self.result.acks.append((now - sent_at) * 1000)
            elif frame.get("type") == "error":
                self.result.errors += 1

    async def run(self, run_number: int, rate: float, seconds: float) -> RunResult:
        self.result = RunResult()
        self.pending.clear()
        self.first_seen.clear()
        readers = [asyncio.create_task(self.agent_reader(ws, i)) for i, ws in enumerate(self.agent_sockets)]
        readers += [asyncio.create_task(self.visitor_reader(ws)) for ws in self.visitor_sockets]
        total = int(rate * seconds)
        interval = 1 / rate
        started = time.perf_counter()
        visitors = self.data["visitors"]
        for n in range(total):
            target = started + n * interval
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            index = n % len(visitors)
            spec, ws = visitors[index], self.visitor_sockets[index]
            client_id = f"r{run_number}-{n}"
            if ws.close_code is not None:
                self.result.skipped += 1  # this visitor's socket was closed by the server (see lost)
                continue
            now = time.perf_counter()
            self.pending[spec["ticket"]] = now
            self.first_seen.discard(spec["ticket"])
            self.ack_sent[client_id] = now
            try:
                await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": f"第 {n} 条消息 message"}))
            except ConnectionClosed:
                self.result.skipped += 1
                continue
            self.result.sent += 1
            self.result.expected += sum(
                1 for i in self.team_agents.get(spec["team"], ()) if self.agent_sockets[i].close_code is None
            )
        self.result.achieved_rate = total / max(time.perf_counter() - started, 1e-9)
        deadline = time.perf_counter() + self.cfg.drain
        while time.perf_counter() < deadline and (
            len(self.result.deliveries) < self.result.expected or self.result.acked < self.result.sent
        ):
            await asyncio.sleep(0.1)
        self.result.drained_s = time.perf_counter() - started
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        return self.result

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.visitor_sockets + self.agent_sockets), return_exceptions=True)


def start_daphne(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    port = server.free_port()
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            server.HOST,
            "-p",
            str(port),
            "-v",
            "0",
            "contact_center.asgi:application",
        ],
        cwd=server.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server._wait_ready(port, process, 60, log_path)
    return process, port


def clear_channel_layer(redis_url: str) -> int:
    """Remove the channel layer's keys (prefix "asgi") from the bench's Redis database. A daphne that is
    stopped keeps its sockets in the groups until the group expiry (a day): after a few runs every team
    group send also wrote to a hundred dead channels, and each run measured slower than the one before."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match="asgi*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()


def run_bench(cfg: Config) -> dict:
    with server.database(cfg.database, cfg.postgres_url) as env:
        env["REDIS_URL"] = cfg.redis_url
        say(f"  migrate ({cfg.database})…")
        server.run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
        say(f"  setup: {cfg.teams} teams, {cfg.agents} agents, {cfg.visitors} visitors with a waiting chat…")
        started = time.monotonic()
        data = json.loads(
            server.run_python(
                ["-m", "bench.websocket", "setup", str(cfg.visitors), str(cfg.agents), str(cfg.teams)], env
            )
            .strip()
            .splitlines()[-1]
        )
        setup_s = time.monotonic() - started
        log_path = Path(env["VAR_DIR"]) / "daphne.log"
        cleared = clear_channel_layer(cfg.redis_url)
        if cleared:
            say(f"  cleared {cleared} channel-layer keys left in Redis by earlier servers")
        process, port = start_daphne(env, log_path)
        try:
            return asyncio.run(_drive(cfg, data, process, port, setup_s))
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if os.environ.get("BENCH_LOG"):
                Path(os.environ["BENCH_LOG"]).write_bytes(log_path.read_bytes())


async def _drive(cfg: Config, data: dict, process: subprocess.Popen, port: int, setup_s: float) -> dict:
    load = Load(port, data, cfg)
    rss_before = rss_kib(process.pid)
    started = time.monotonic()
    await load.connect_all()
    connect_s = time.monotonic() - started
    await asyncio.sleep(1)
    rss_after = rss_kib(process.pid)
    connections = len(load.visitor_sockets) + len(load.agent_sockets)
    say(
        f"  connected {len(load.visitor_sockets)} chat + {len(load.agent_sockets)} agent sockets in {connect_s:.1f} s; "
        f"daphne RSS {rss_before / 1024:.0f} → {rss_after / 1024:.0f} MiB"
    )
    phases = {"offered": [], "low": []}
    plan = [("offered", cfg.rate, cfg.seconds)] * cfg.runs + [("low", cfg.low_rate, cfg.low_seconds)] * cfg.low_runs
    for n, (phase, rate, seconds) in enumerate(plan):
        server_cpu, client_cpu = cpu_seconds(process.pid), time.process_time()
        result = await load.run(n, rate, seconds)
        server_cpu, client_cpu = cpu_seconds(process.pid) - server_cpu, time.process_time() - client_cpu
        missing = result.expected - len(result.deliveries)
        summary = {
            "rate_offered": rate,
            "throughput": result.sent / result.drained_s if not missing else len(result.first) / result.drained_s,
            "sent": result.sent,
            "rate": result.achieved_rate,
            "delivered": len(result.deliveries),
            "expected": result.expected,
            "acked": result.acked,
            "errors": result.errors,
            "skipped": result.skipped,
            "lost_visitors": sum(1 for ws in load.visitor_sockets if ws.close_code is not None),
            "lost_agents": sum(1 for ws in load.agent_sockets if ws.close_code is not None),
            "p50_ms": percentile(result.deliveries, 50, missing),
            "p99_ms": percentile(result.deliveries, 99, missing),
            "first_p50_ms": percentile(result.first, 50, result.sent - len(result.first)),
            "first_p99_ms": percentile(result.first, 99, result.sent - len(result.first)),
            "ack_p50_ms": percentile(result.acks, 50, result.sent - result.acked),
            "ack_p99_ms": percentile(result.acks, 99, result.sent - result.acked),
            "server_cpu_ms": server_cpu * 1000 / max(result.sent, 1),
            "client_cpu_ms": client_cpu * 1000 / max(result.sent, 1),
        }
        phases[phase].append(summary)
        if missing:
            short = {
                i: result.per_agent.get(i, 0)
                for i in range(len(load.agent_sockets))
                if result.per_agent.get(i, 0) < max(result.per_agent.values(), default=0)
            }
            closed = {i: (load.agent_sockets[i].close_code, load.agent_sockets[i].close_reason) for i in short}
            say(f"  agent sockets with fewer deliveries: {short}; closed: {closed}")
        say(
            f"  run {n + 1} ({phase}): {result.sent} messages at {result.achieved_rate:.0f}/s; "
            f"{len(result.deliveries)}/{result.expected} agent deliveries; p50 {summary['p50_ms']:.1f} ms, "
            f"p99 {summary['p99_ms']:.1f} ms; ack p50 {summary['ack_p50_ms']:.1f} ms, "
            f"p99 {summary['ack_p99_ms']:.1f} ms"
            f"; errors {result.errors}; sockets closed by the server: {summary['lost_visitors']} chat, "
            f"{summary['lost_agents']} agent ({result.skipped} sends skipped); served {summary['throughput']:.0f}/s; "
            f"CPU per message: daphne {summary['server_cpu_ms']:.1f} ms, this client {summary['client_cpu_ms']:.1f} ms"
        )
    rss_end = rss_kib(process.pid)
    await load.close()
    return {
        "database": cfg.database,
        "setup_s": setup_s,
        "connect_s": connect_s,
        "connections": connections,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_end_kib": rss_end,
        "per_connection_kib": (rss_after - rss_before) / max(connections, 1),
        "phases": phases,
    }


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _ms(value: float) -> str:
    return "not delivered" if value == float("inf") else f"{value:.1f} ms"


def _phase_rows(label: str, runs: list[dict]) -> list[list[str]]:
    if not runs:
        return []
    delivered = sum(r["delivered"] for r in runs)
    expected = sum(r["expected"] for r in runs)
    return [
        [
            label,
            f"{_median(runs, 'rate_offered'):.0f}/s",
            f"{_median(runs, 'throughput'):.0f}/s",
            _ms(_median(runs, "p50_ms")),
            _ms(_median(runs, "p99_ms")),
            _ms(_median(runs, "first_p99_ms")),
            f"{_ms(_median(runs, 'ack_p50_ms'))} / {_ms(_median(runs, 'ack_p99_ms'))}",
            f"{delivered:,} / {expected:,}",
        ]
    ]


def _cpu(runs: list[dict], key: str) -> str:
    values = [run[key] for run in runs if key in run]
    return f"{statistics.median(values):.1f} ms" if values else "? ms"


def render(result: dict, cfg: Config, machine: dict[str, str]) -> str:
    offered, low = result["phases"]["offered"], result["phases"]["low"]
    p99 = _median(offered, "p99_ms") if offered else float("inf")
    lines = [
        "## Live chat over websockets: visitor → agent delivery at load",
        "",
        "Command: `.venv/bin/python -m bench.websocket`.  ",
        f"Date: {report.now_line()}.  ",
        f"Machine: {report.machine_line(machine)}.",
        "",
        f"What is measured: one daphne process (DEBUG off, production settings, Redis channel layer, "
        f"{result['database']}) with {cfg.visitors:,} chat sockets (`/ws/chat/<key>/`, visitors resumed by their "
        f"token, each with a conversation waiting in one of {cfg.teams} teams' queues) and {cfg.agents} agent "
        f"sockets (`/ws/agent/`, API token, {cfg.agents // cfg.teams} agents per team). The client (this process, "
        "on the same machine) sends visitor messages at a fixed rate, round-robin over the visitors. Latency: "
        "from the visitor's `message` frame leaving the client to the `message.received` event arriving on "
        "each agent socket of the team; on the way the message is stored through `inbound_ingest` (CRM "
        "identity, ticket, SLA recompute, timeline, routing's receivers) and the event published after commit. "
        "Also to the first agent socket, and the visitor's ack (the message is stored). A message still "
        f"missing {cfg.drain:.0f} s after the last send counts as not delivered. Figures are medians over the "
        f"runs ({cfg.runs} at the target rate for {cfg.seconds:.0f} s, {cfg.low_runs} at {cfg.low_rate:.0f}/s "
        f"for {cfg.low_seconds:.0f} s). Target: p99 under {TARGET_P99_MS:.0f} ms at {cfg.rate:.0f} messages/s.",
        "",
        report.table(
            [
                "offered",
                "rate",
                "served",
                "p50 (every agent)",
                "p99 (every agent)",
                "p99 (first agent)",
                "ack p50 / p99",
                "deliveries",
            ],
            _phase_rows("target rate", offered) + _phase_rows("sustained", low),
        ),
        "",
        f'Target met: {"yes" if p99 < TARGET_P99_MS else "**no**"}. "Served" is messages stored and '
        "delivered per second over the run and its drain: above it, messages queue in daphne and the latency "
        f"is the queue's length. Daphne is the bottleneck at {_cpu(offered, 'server_cpu_ms')} of CPU per chat "
        f"message at the target rate ({_cpu(low, 'server_cpu_ms')} at {cfg.low_rate:.0f}/s; its process CPU "
        "time over the run and drain divided by the messages; this client used "
        f"{_cpu(offered, 'client_cpu_ms')}), part of it storing the messages in the "
        "database threads (a line alone: 9 statements on an open conversation plus its transaction; lines "
        "that arrive while the threads are busy are stored together, up to 50 in one transaction and three "
        "such batches at once, with the visitors' identities and their conversations (locked) read in one "
        "query each; a batch's plain lines (text on an open conversation that cannot start an SLA timer) in "
        "one message INSERT and one ticket UPDATE for all, about 12 statements a batch and none a line; the "
        "timeline, event and search-queue rows in one INSERT each and one routing check) and the "
        "rest in the one event loop: a batch's group sends (chat, team and supervisors groups) in one Redis "
        "script, one reader task taking up to 100 messages a trip for all the process's sockets, each event "
        "encoded once, and the websocket frames. Several daphne processes behind "
        "the proxy (docker-compose `--scale web=N`) multiply the rate. A socket whose consumer fails is closed "
        "with 1011 (the console and the widget reconnect and resume; the benchmark only loses that socket's "
        "deliveries); before the channel layer's pool waited for a free connection, the 101st concurrent Redis "
        'command failed ("Too many connections") and closed a socket whose receive needed one.',
        "",
        "Sockets closed by the server during the runs (1011, see above): "
        + "; ".join(
            f"{label} {runs[-1]['lost_visitors']} chat, {runs[-1]['lost_agents']} agent"
            for label, runs in (("after the target-rate run", offered), ("after the sustained runs", low))
            if runs
        )
        + ".",
        "",
        f"Memory: daphne RSS {result['rss_before_kib'] / 1024:.0f} MiB before the sockets, "
        f"{result['rss_after_kib'] / 1024:.0f} MiB with {result['connections']:,} connected "
        f"(**{result['per_connection_kib']:.0f} KiB per connection**), {result['rss_end_kib'] / 1024:.0f} MiB after "
        f"the runs. Connecting all sockets took {result['connect_s']:.1f} s.",
    ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "setup":
        visitors, agents, teams = (int(value) for value in sys.argv[2:5])
        print(json.dumps(setup(visitors, agents, teams)))
        return 0
    cfg = config_from_env()
    started = time.monotonic()
    load_start = report.load_average()
    say(
        f"bench {NAME}: {cfg.visitors} chat + {cfg.agents} agent sockets, {cfg.rate:.0f} msg/s × "
        f"{cfg.seconds:.0f} s × {cfg.runs} runs, {cfg.database}, Redis {cfg.redis_url}"
    )
    result = run_bench(cfg)
    machine = report.machine(cfg.postgres_url if cfg.database == "postgresql" else None)
    machine["load_start"] = load_start
    body = render(result, cfg, machine)
    if cfg.write:
        say(f"wrote {report.write_section(NAME, body)}")
    else:
        print(body)
        say("(not written to docs/benchmarks.md: quick run or BENCH_WRITE=0)")
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
