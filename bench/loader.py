"""Bulk loader for the benchmarks: many customers and tickets, fast, with consistent keys.

Not through the services (100,000 tickets through them would take many minutes):
rows are built in memory and written with `bulk_create` in batches, in one
transaction, with explicit primary keys so that ticket numbers follow the same
rule as `ticketing.services.ticket_create` (offset + id). What the services
would have kept consistent is kept here too: every ticket's team is its queue's
team, its company is the customer's primary company, ID numbers are encrypted
with their blind-index digest, identities are normalized and unique.

Run as `python -m bench.loader --tickets N --customers M` inside a configured
environment (DATABASE_URL / VAR_DIR); prints a JSON summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from contextlib import ExitStack
from unittest import mock

BENCH_PASSWORD = "bench-Pass-2026"  # noqa: S105  (a throwaway database)
AGENT = "bench_agent"
SUPERVISOR = "bench_supervisor"
TEAMS = 5
TEAM_WEIGHTS = [20, 25, 20, 20, 15]  # share of tickets per team; the bench agent is in team 1
AGENTS_PER_TEAM = 3
SALES_REPS = 6
CHUNK = 10_000
PERSON_FIELDS = [
    "id",
    "name",
    "id_number",
    "id_number_digest",
    "address",
    "language",
    "owner",
    "source",
    "lifecycle_stage",
    "service_level",
    "created_at",
    "updated_at",
]
TICKET_FIELDS = [
    "id",
    "number",
    "subject",
    "status",
    "priority",
    "channel",
    "language",
    "customer",
    "company",
    "assignee",
    "queue",
    "team",
    "created_at",
    "updated_at",
    "first_response_at",
    "solved_at",
    "closed_at",
]
MESSAGE_FIELDS = [
    "id",
    "ticket",
    "direction",
    "channel",
    "body_text",
    "body_html",
    "delivery_status",
    "delivery_error",
    "flagged",
    "created_at",
]
MESSAGE_TEXT = "你好，我的订单还没有收到退款，请帮忙查一下。Hello, where is my refund?"


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.settings")
    import django

    django.setup()


def _weighted(rng: random.Random, choices: dict):
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def _insert(model, fields: list[str], rows: list[tuple], batch_size: int = 5000) -> None:
    """INSERT rows (tuples in the order of `fields`) with executemany: the ORM's per-value
    preparation is most of the cost of bulk_create at this size. Values must already be
    in database form, except datetimes, which are adapted here."""
    if not rows:
        return
    from django.db import connection

    ops = connection.ops
    opts = model._meta
    sql_columns = ", ".join(ops.quote_name(opts.get_field(name).column) for name in fields)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608  (names from model metadata, quoted)
        ops.quote_name(opts.db_table), sql_columns, ", ".join(["%s"] * len(fields))
    )
    if connection.vendor == "postgresql":  # COPY: an order of magnitude faster than row-by-row inserts
        table = ops.quote_name(opts.db_table)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({sql_columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if connection.vendor == "sqlite":
        adapt = ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            cursor.executemany(sql, rows[start : start + batch_size])


def _reset_sequences(models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _users(rng: random.Random) -> dict:
    """The cast: the bench agent and supervisor, agents of every team, sales reps and their manager."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import AgentProfile, Department, Presence, Team, User
    from accounts.roles import AGENT as AGENT_ROLE
    from accounts.roles import SALES_MANAGER, SALES_REP, roles_ensure
    from accounts.roles import SUPERVISOR as SUPERVISOR_ROLE
    from ticketing.models import Queue

    roles = roles_ensure()
    head = Department.objects.create(name="Bench head office")
    support = Department.objects.create(name="Bench support", parent=head)
    sales = Department.objects.create(name="Bench sales", parent=head)
    sales_east = Department.objects.create(name="Bench sales east", parent=sales)
    teams = [Team.objects.create(name=f"Bench team {n + 1}", department=support) for n in range(TEAMS)]
    queues = [
        Queue.objects.create(name=f"Bench queue {n + 1}", team=team, is_default=n == 0 and not Queue.objects.exists())
        for n, team in enumerate(teams)
    ]
    password = make_password(BENCH_PASSWORD)  # one PBKDF2 for all bench users

    def user(username, role, department, manager=None):
        created = User.objects.create(
            username=username, password=password, department=department, manager=manager, display_name=username
        )
        created.groups.add(roles[role].group)
        return created

    agent = user(AGENT, AGENT_ROLE, support)
    supervisor = user(SUPERVISOR, SUPERVISOR_ROLE, support)
    team_agents: list[list] = [[] for _ in teams]
    team_agents[0].append(agent)
    teams[0].members.add(agent)
    for n, team in enumerate(teams):
        while len(team_agents[n]) < AGENTS_PER_TEAM:
            other = user(f"bench_agent_t{n + 1}_{len(team_agents[n]) + 1}", AGENT_ROLE, support)
            team.members.add(other)
            team_agents[n].append(other)
    for members in team_agents:
        for member in members:
            AgentProfile.objects.create(user=member, languages=["zh", "en"], presence=Presence.ONLINE)
    manager = user("bench_manager", SALES_MANAGER, sales)
    reps = [user(f"bench_rep{n + 1}", SALES_REP, sales_east, manager=manager) for n in range(SALES_REPS)]
    return {
        "agent": agent,
        "supervisor": supervisor,
        "manager": manager,
        "reps": reps,
        "teams": teams,
        "queues": queues,
        "team_agents": team_agents,
    }


def load(*, tickets: int, customers: int, seed: int = 7, messages_per_ticket: int = 1) -> dict:
    """Load the data set into the current database; returns a JSON-able summary."""
    from django.db import connection, transaction

    from accounts.scope import visible
    from contact_center.crypto import blind_index, encrypt
    from contact_center.demo import generate
    from crm.models import Company, CustomerShare, Identity, IdentityKind, Person, PersonCompany, Tag
    from ticketing.models import Direction, Message, Ticket
    from ticketing.services import TICKET_NUMBER_OFFSET

    started = time.monotonic()
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)

    with ExitStack() as stack:
        stack.enter_context(transaction.atomic())
        # Spread updated_at over the past instead of "now" for every bulk-created company.
        stack.enter_context(mock.patch.object(Company._meta.get_field("updated_at"), "auto_now", False))

        cast = _users(rng)
        owners = [*cast["reps"], cast["manager"]]
        tags = [Tag.objects.get_or_create(name=f"bench-tag-{n}")[0] for n in range(12)]

        # Companies: one for every ten customers, with valid credit codes.
        company_count = max(1, customers // 10)
        first_company = _next_id(Company)
        codes = set(Company.objects.exclude(credit_code=None).values_list("credit_code", flat=True))
        company_rows = []
        for n in range(company_count):
            code = generate.credit_code(rng, "310104")
            while code in codes:
                code = generate.credit_code(rng, "310104")
            codes.add(code)
            created = now - rng.uniform(200, 1500) * day
            company_rows.append(
                Company(
                    id=first_company + n,
                    name=f"基准测试公司 {n + 1} 有限公司",
                    credit_code=code,
                    industry=rng.choice(["软件与信息技术", "电子商务", "制造业", "物流"]),
                    size=rng.choice(["micro", "small", "medium", "large"]),
                    region=rng.choice(["北京", "上海", "深圳", "杭州"]),
                    status=rng.choice(["active", "prospect"]),
                    email_domain=f"bench-co{first_company + n}.example.cn",
                    owner=rng.choice([*owners, None]),
                    created_at=created,
                    updated_at=created + rng.uniform(0, 100) * day,
                )
            )
        Company.objects.bulk_create(company_rows, batch_size=2000)
        company_ids = [c.id for c in company_rows]

        # Customers, their identities, company links and tags, chunk by chunk.
        first_person = _next_id(Person)
        identity_id = _next_id(Identity)
        person_company: dict[int, int] = {}
        id_numbers: set[str] = set()
        owner_weights = {o.id: 10 for o in cast["reps"]} | {cast["manager"].id: 10, cast["agent"].id: 0.1, None: 30}
        for start in range(0, customers, CHUNK):
            people, identities, links, person_tags = [], [], [], []
            for n in range(start, min(customers, start + CHUNK)):
                pid = first_person + n
                created = now - rng.uniform(30, 900) * day
                number, digest = "", None
                if rng.random() < 0.05:
                    number = generate.id_number(
                        rng, "110105", born_after=dt.date(1960, 1, 1), born_before=dt.date(2005, 1, 1)
                    )
                    if number in id_numbers:
                        number = ""
                    else:
                        id_numbers.add(number)
                        digest = blind_index(number, "id_number")
                people.append(
                    (
                        pid,
                        f"{rng.choice('王李张刘陈杨黄赵吴周')}{rng.choice('伟芳娜敏静强磊洋')}{n}",
                        encrypt(number) if number else "",
                        digest,
                        "上海市徐汇区漕溪北路 88 号",
                        rng.choice(["zh", "zh", "zh", "en"]),
                        _weighted(rng, owner_weights),
                        rng.choice(["email", "phone", "chat", "website"]),
                        rng.choice(["potential", "interested", "customer", "customer"]),
                        _weighted(rng, {"standard": 80, "gold": 15, "platinum": 5}),
                        created,
                        created + rng.uniform(0, 29) * day,
                    )
                )
                company = rng.choice(company_ids) if rng.random() < 0.3 else None
                domain = f"bench-co{company}.example.cn" if company else "bench-mail.example.com"
                identities.append((identity_id, pid, IdentityKind.EMAIL.value, f"c{pid}@{domain}", created))
                identity_id += 1
                if rng.random() < 0.6:
                    phone = f"+86{('138', '139', '186', '150')[pid % 4]}{pid % 10**8:08d}"
                    identities.append((identity_id, pid, IdentityKind.PHONE.value, phone, created))
                    identity_id += 1
                if company:
                    person_company[pid] = company
                    links.append((pid, company, "采购经理", True))
                if rng.random() < 0.1:
                    person_tags.append((pid, rng.choice(tags).id))
            _insert(Person, PERSON_FIELDS, people)
            _insert(Identity, ["id", "person", "kind", "value", "created_at"], identities)
            _insert(PersonCompany, ["person", "company", "title", "is_primary"], links)
            _insert(Person.tags.through, ["person", "tag"], person_tags)
        person_ids = range(first_person, first_person + customers)
        CustomerShare.objects.bulk_create(
            [CustomerShare(person_id=pid, user=cast["agent"]) for pid in rng.sample(person_ids, min(20, customers))]
        )

        # Tickets in every team's queue; some assigned; a slice assigned to the bench agent in other teams.
        first_ticket = _next_id(Ticket)
        message_id = _next_id(Message)
        statuses = {"new": 10, "open": 25, "pending": 12, "on_hold": 3, "solved": 25, "closed": 25}
        channels = {"email": 40, "chat": 25, "voice": 10, "sms": 10, "web": 15}
        priorities = {"low": 15, "normal": 60, "high": 20, "urgent": 5}
        agent = cast["agent"]
        for start in range(0, tickets, CHUNK):
            rows, messages, ticket_tags = [], [], []
            for n in range(start, min(tickets, start + CHUNK)):
                tid = first_ticket + n
                team_index = rng.choices(range(TEAMS), weights=TEAM_WEIGHTS)[0]
                queue = cast["queues"][team_index]
                status = _weighted(rng, statuses)
                assignee = None
                if status != "new" and rng.random() < 0.6:
                    assignee = rng.choice(cast["team_agents"][team_index])
                if team_index != 0 and rng.random() < 0.01:
                    assignee = agent  # transferred to the bench agent from another team
                # Skewed: some customers write often.
                customer = first_person + (
                    rng.randrange(customers) if rng.random() < 0.5 else int(customers * rng.random() ** 3)
                )
                created = now - rng.uniform(0, 365) * day
                updated = min(now, created + rng.uniform(0, 10) * day)
                responded = min(updated, created + rng.uniform(0.01, 1) * day) if status != "new" else None
                channel = _weighted(rng, channels)
                rows.append(
                    (
                        tid,
                        TICKET_NUMBER_OFFSET + tid,
                        f"基准工单 {n}: 退款 / refund question",
                        status,
                        _weighted(rng, priorities),
                        channel,
                        rng.choice(["zh", "en"]),
                        customer,
                        person_company.get(customer),
                        assignee.id if assignee else None,
                        queue.id,
                        queue.team_id,
                        created,
                        updated,
                        responded,
                        updated if status in {"solved", "closed"} else None,
                        updated if status == "closed" else None,
                    )
                )
                for m in range(messages_per_ticket):
                    direction = Direction.INBOUND.value if m % 2 == 0 else Direction.OUTBOUND.value
                    messages.append((message_id, tid, direction, channel, MESSAGE_TEXT, "", "", "", False, created))
                    message_id += 1
                if rng.random() < 0.15:
                    ticket_tags.append((tid, rng.choice(tags).id))
            _insert(Ticket, TICKET_FIELDS, rows)
            _insert(Message, MESSAGE_FIELDS, messages)
            _insert(Ticket.tags.through, ["ticket", "tag"], ticket_tags)

        _reset_sequences([Company, Person, Identity, Ticket, Message])

    if connection.vendor == "postgresql" or os.environ.get("BENCH_SQLITE_ANALYZE") == "1":
        # PostgreSQL: what autovacuum does after a bulk load. SQLite is left as the product
        # ships it (never analyzed) unless BENCH_SQLITE_ANALYZE=1 asks what ANALYZE would change.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    loaded = time.monotonic() - started

    team_ids = {cast["teams"][0].id}
    scope_tickets = visible(agent, Ticket)
    summary = {
        "seconds": round(loaded, 1),
        "database": connection.vendor,
        "counts": {
            "tickets": Ticket.objects.count(),
            "customers": Person.objects.count(),
            "companies": Company.objects.count(),
            "identities": Identity.objects.count(),
            "messages": Message.objects.count(),
        },
        "users": {"agent": AGENT, "supervisor": SUPERVISOR, "password": BENCH_PASSWORD},
        "scope": {
            "agent_tickets": scope_tickets.count(),
            "agent_tickets_team_queue": Ticket.objects.filter(team_id__in=team_ids).count(),
            "agent_tickets_assigned": Ticket.objects.filter(assignee=agent).count(),
            "agent_customers": visible(agent, Person).count(),
            "supervisor_tickets": visible(cast["supervisor"], Ticket).count(),
            "supervisor_customers": visible(cast["supervisor"], Person).count(),
        },
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--messages-per-ticket", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    _django_setup()
    summary = load(
        tickets=args.tickets, customers=args.customers, seed=args.seed, messages_per_ticket=args.messages_per_ticket
    )
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
