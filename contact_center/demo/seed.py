"""Writes the demo into the database, through the same services the product uses.

`seed()` is idempotent: the organisation (departments, teams, queues, skills,
users) is matched by natural keys and only what is missing is created; the CRM
and ticket data are created once, recognised afterwards by the credit code of
the first demo company. A second run creates and changes nothing.

The history of the demo (customers from the past two years, tickets from the
past 30 days, replies, notes, status changes) is written by the services under a
simulated clock (`django.utils.timezone.now` patched for the duration), so
tickets, messages, events and timelines agree with each other.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import AgentProfile, AgentSkill, Department, Presence, Skill, Team, User
from accounts.roles import ADMIN, AGENT, SALES_MANAGER, SALES_REP, SUPERVISOR, roles_ensure
from contact_center.demo import data, generate
from contact_center.demo.articles import demo_articles_ensure
from contact_center.demo.phone import demo_phone_ensure
from contact_center.demo.routing import demo_routing_ensure
from contact_center.demo.widget import demo_widget_ensure
from crm.models import Company, Person, TimelineEntry
from crm.services import company_create, person_create
from knowledge_base.search import search_reindex
from ticketing.events import publishing_paused
from ticketing.models import (
    BusinessCalendar,
    Channel,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Queue,
    SlaPolicy,
    Status,
    Ticket,
)
from ticketing.services import (
    ticket_add_inbound,
    ticket_add_note,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)
from ticketing.sla.services import sla_policies_batched

RANDOM_SEED = 20260315
PEOPLE = 300
TICKETS = 400

HEAD, SUPPORT, SALES = "总部 Head office", "客服部 Customer service", "销售部 Sales"
SALES_EAST, SALES_SOUTH, MARKETING = "华东销售 Sales East", "华南销售 Sales South", "市场部 Marketing"
DEPARTMENTS = [
    (HEAD, None),
    (SUPPORT, HEAD),
    (SALES, HEAD),
    (SALES_EAST, SALES),
    (SALES_SOUTH, SALES),
    (MARKETING, HEAD),
]

# team key → (team name, department)
TEAMS = {
    "billing": ("Billing 账务组", SUPPORT),
    "technical": ("Technical 技术支持组", SUPPORT),
    "returns": ("Returns 退换货组", SUPPORT),
}
# queue name → (team key, is_default)
QUEUES = {
    "账务 Billing": ("billing", True),
    "技术支持 Technical": ("technical", False),
    "退换货 Returns": ("returns", False),
    "VIP 专线 VIP line": ("billing", False),
}
VIP_QUEUE = "VIP 专线 VIP line"
TEAM_QUEUE = {"billing": "账务 Billing", "technical": "技术支持 Technical", "returns": "退换货 Returns"}
SKILLS = {
    "billing": "账务 Billing",
    "technical": "技术支持 Technical",
    "returns": "退换货 Returns",
    "sales": "售前 Sales",
    "vip": "VIP 服务 VIP service",
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    first_name: str
    last_name: str
    department: str
    language: str = "zh-hans"
    superuser: bool = False
    manager: str | None = None
    # Agents only:
    teams: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    skills: tuple[tuple[str, int], ...] = ()
    capacity: dict = field(default_factory=dict)
    presence: str = Presence.OFFLINE


USERS = [
    DemoUser("admin", ADMIN, "系统管理员 Admin", "Admin", "", HEAD, superuser=True),
    DemoUser("supervisor", SUPERVISOR, "王芳 Wang Fang", "Fang", "Wang", SUPPORT),
    DemoUser(
        "agent1",
        AGENT,
        "李娜 Li Na",
        "Na",
        "Li",
        SUPPORT,
        teams=("billing",),
        languages=("zh",),
        skills=(("billing", 5), ("returns", 2), ("vip", 3)),
        capacity={"voice": 1, "chat": 3, "email": 10, "sms": 10},
        presence=Presence.ONLINE,
    ),
    DemoUser(
        "agent2",
        AGENT,
        "Emily Carter 艾米莉",
        "Emily",
        "Carter",
        SUPPORT,
        language="en",
        teams=("technical",),
        languages=("en",),
        skills=(("technical", 4), ("billing", 2)),
        capacity={"voice": 1, "chat": 4, "email": 12, "sms": 8},
        presence=Presence.ONLINE,
    ),
    DemoUser(
        "agent3",
        AGENT,
        "陈晨 Chen Chen",
        "Chen",
        "Chen",
        SUPPORT,
        teams=("returns", "technical"),
        languages=("zh", "en"),
        skills=(("returns", 4), ("technical", 3), ("sales", 2)),
        capacity={"voice": 1, "chat": 2, "email": 8, "sms": 8},
        presence=Presence.AWAY,
    ),
    DemoUser("salesmanager", SALES_MANAGER, "赵强 Zhao Qiang", "Qiang", "Zhao", SALES),
    DemoUser("salesrep", SALES_REP, "刘洋 Liu Yang", "Yang", "Liu", SALES_EAST, manager="salesmanager"),
    DemoUser("salesrep2", SALES_REP, "周婷 Zhou Ting", "Ting", "Zhou", SALES_SOUTH, manager="salesmanager"),
]
ROLE_LABELS = {
    ADMIN: "Administrator",
    SUPERVISOR: "Supervisor",
    AGENT: "Agent",
    SALES_MANAGER: "Sales manager",
    SALES_REP: "Sales rep",
}


@dataclass
class SeedResult:
    created: bool
    seconds: float
    users_created: list[str]
    counts: dict[str, int]


class _Clock:
    """A settable `timezone.now`, so the services write history at past moments.

    Model fields whose default is `timezone.now` captured the real function when
    the model was defined; rows of those (timeline entries) are moved to the
    simulated moment right after each step (`settle`).
    """

    def __init__(self, start: dt.datetime):
        self.at = start
        self._timeline_mark = TimelineEntry.objects.aggregate(m=Max("pk"))["m"] or 0

    def __call__(self) -> dt.datetime:
        return self.at

    def settle(self) -> None:
        moved = TimelineEntry.objects.filter(pk__gt=self._timeline_mark).update(at=self.at)
        if moved:
            self._timeline_mark = TimelineEntry.objects.aggregate(m=Max("pk"))["m"]


@contextmanager
def _simulated_time(start: dt.datetime):
    clock = _Clock(start)
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


def _ensure_org() -> tuple[dict[str, Department], dict[str, Team], dict[str, Queue], dict[str, Skill]]:
    departments: dict[str, Department] = {}
    for name, parent in DEPARTMENTS:
        departments[name], _ = Department.objects.get_or_create(
            name=name, parent=departments[parent] if parent else None
        )
    teams = {
        key: Team.objects.get_or_create(name=name, defaults={"department": departments[dept]})[0]
        for key, (name, dept) in TEAMS.items()
    }
    queues = {
        name: Queue.objects.get_or_create(name=name, defaults={"team": teams[team], "is_default": default})[0]
        for name, (team, default) in QUEUES.items()
    }
    skills = {code: Skill.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SKILLS.items()}
    return departments, teams, queues, skills


def _ensure_users(departments, teams, skills) -> tuple[dict[str, User], list[str]]:
    """Create the demo users that are missing; existing users are left exactly as they are."""
    roles = roles_ensure()
    existing = {u.username: u for u in User.objects.filter(username__in=[s.username for s in USERS])}
    missing = [spec for spec in USERS if spec.username not in existing]
    # One hash for all: the demo users share a published password, and PBKDF2 per user
    # would add seconds to every fresh `make run`.
    password_hash = make_password(settings.DEMO_PASSWORD) if missing else ""
    users = dict(existing)
    for spec in missing:
        user = User(
            username=spec.username,
            password=password_hash,
            email=f"{spec.username}@demo.contact-center.example",
            first_name=spec.first_name,
            last_name=spec.last_name,
            display_name=spec.display_name,
            department=departments[spec.department],
            manager=users.get(spec.manager) if spec.manager else None,
            language=spec.language,
            time_zone="Asia/Shanghai",
            is_staff=spec.superuser,
            is_superuser=spec.superuser,
        )
        user.save()
        user.groups.add(roles[spec.role].group)
        users[spec.username] = user
        for team in spec.teams:
            teams[team].members.add(user)
        if spec.role == AGENT:
            profile = AgentProfile.objects.create(
                user=user,
                languages=list(spec.languages),
                presence=spec.presence,
                **{f"capacity_{channel}": n for channel, n in spec.capacity.items()},
            )
            AgentSkill.objects.bulk_create(
                [AgentSkill(agent=profile, skill=skills[code], level=level) for code, level in spec.skills]
            )
    return users, [spec.username for spec in missing]


def _fill(template: str, values: dict) -> str:
    return template.format(**values)


class _History:
    """Writes one ticket's life: opened, assigned, answered, followed up, resolved."""

    def __init__(self, rng: random.Random, clock: _Clock, end: dt.datetime):
        self.rng = rng
        self.clock = clock
        self.end = end

    def at(self, moment: dt.datetime) -> None:
        self.clock.at = moment

    def advance(self, low_minutes: float, high_minutes: float) -> None:
        step = dt.timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))
        target = self.clock.at + step
        if target > self.end:  # squeeze the rest of the history into the time left
            target = self.clock.at + (self.end - self.clock.at) / 3
        self.clock.at = target


LIVE_CHANNELS = {Channel.CHAT, Channel.VOICE}


def _ticket_plan(rng: random.Random, age: dt.timedelta, channel: str) -> str:
    if channel in LIVE_CHANNELS:
        # A chat or a call is over within the hour: an older one is solved, so the demo agents
        # have room for the chat or call a new user starts.
        if age < dt.timedelta(hours=1):
            return generate.weighted(rng, {Status.NEW: 40, Status.OPEN: 60})
        weights = {Status.SOLVED: 60, Status.CLOSED: 40}
        if age < dt.timedelta(days=3):
            weights[Status.CLOSED] = 2
        return generate.weighted(rng, weights)
    weights = {
        Status.NEW: 12,
        Status.OPEN: 24,
        Status.PENDING: 14,
        Status.ON_HOLD: 6,
        Status.SOLVED: 26,
        Status.CLOSED: 18,
    }
    if age < dt.timedelta(hours=6):
        weights = {Status.NEW: 50, Status.OPEN: 40, Status.PENDING: 10}
    elif age < dt.timedelta(days=3):
        weights[Status.CLOSED] = 2
    return generate.weighted(rng, weights)


def _pick_agent(rng: random.Random, team: str, language: str, users: dict[str, User]) -> User:
    if team == "billing":
        name = "agent1" if language == "zh" or rng.random() < 0.3 else "agent2"
    elif team == "technical":
        name = "agent2" if language == "en" and rng.random() < 0.75 else "agent3"
    else:
        name = "agent3" if rng.random() < 0.8 else "agent1"
    return users[name]


def _create_tickets(rng, clock, users, queues, people, person_specs, *, count: int, now: dt.datetime) -> None:
    end = now - dt.timedelta(minutes=1)
    history = _History(rng, clock, end)
    supervisor = users["supervisor"]
    channels = {Channel.EMAIL: 38, Channel.CHAT: 24, Channel.VOICE: 10, Channel.SMS: 10, Channel.WEB: 18}
    priorities = {Priority.LOW: 15, Priority.NORMAL: 55, Priority.HIGH: 22, Priority.URGENT: 8}
    # Some customers write often, most once or twice.
    frequent = rng.sample(range(len(people)), 40)
    for n in range(count):
        index = rng.choice(frequent) if rng.random() < 0.3 else rng.randrange(len(people))
        person, spec = people[index], person_specs[index]
        lang = spec.language
        topic = rng.choice(data.TOPICS)
        text = topic[lang]
        channel = generate.weighted(rng, channels)
        if channel == Channel.EMAIL and not spec.emails:
            channel = Channel.SMS
        age = dt.timedelta(minutes=rng.triangular(5, 30 * 24 * 60, 2 * 24 * 60))
        opened = now - age
        status = _ticket_plan(rng, age, channel)
        company = spec.extra.get("company_name") or ("贵公司" if lang == "zh" else "our company")
        values = {
            # How an agent addresses the customer: 王先生 / 王女士, or the first name.
            "name": spec.name.split()[0] if lang == "en" else spec.name[0] + rng.choice(["先生", "女士"]),
            "order": f"DD{opened:%Y%m%d}{rng.randrange(10**5, 10**6)}",
            "amount": rng.choice(["59.00", "99.00", "128.00", "199.00", "268.00", "399.00", "1280.00", "2999.00"]),
            "company": company,
            "phone": spec.phones[0] if spec.phones else "",
        }
        body = text["short"] if channel in {Channel.SMS, Channel.CHAT} else text["body"]
        if channel == Channel.VOICE:
            body = data.VOICE_PREFIX[lang] + text["body"]
        team = topic["team"]
        queue = queues[VIP_QUEUE] if team == "billing" and spec.service_level == "platinum" else None
        queue = queue or queues[TEAM_QUEUE[team]]
        agent = _pick_agent(rng, team, lang, users)
        priority = generate.weighted(rng, priorities)
        if "加急" in topic["tags"] and priority in {Priority.LOW, Priority.NORMAL}:
            priority = Priority.HIGH
        domain = spec.emails[0].rpartition("@")[2] if spec.emails else "mail.example"

        history.at(opened)
        ticket = ticket_create(
            by=agent if channel == Channel.VOICE else None,
            customer=person,
            subject=_fill(rng.choice(text["subjects"]), values),
            channel=channel,
            body_text=_fill(body, values),
            priority=priority,
            queue=queue,
            tags=topic["tags"] if rng.random() < 0.5 else [],
            language=lang,
            external_id=f"<{rng.getrandbits(64):016x}.{n}@{domain}>" if channel == Channel.EMAIL else None,
        )
        clock.settle()
        if status == Status.NEW:
            if rng.random() < 0.2:  # the customer chases before anyone answered
                history.advance(20, 600)
                ticket_add_inbound(ticket=ticket, body_text=data.CHASER[lang])
                clock.settle()
            continue

        assigned = rng.random() < 0.85 or status in {Status.PENDING, Status.ON_HOLD}
        if assigned:
            history.advance(1, 90)
            ticket_assign(ticket=ticket, agent=agent, by=None if rng.random() < 0.7 else supervisor)
        replier = agent if assigned else users["agent1" if lang == "zh" else "agent2"]
        if rng.random() < 0.25:
            history.advance(2, 60)
            ticket_add_note(ticket=ticket, by=replier, body_text=text["note"])

        history.advance(5, 300)
        if status == Status.PENDING:
            ticket_reply(ticket=ticket, by=replier, body_text=_fill(data.PENDING_REPLY[lang], values))
            clock.settle()
            history.advance(1, 10)
            ticket_change_status(ticket=ticket, status=Status.PENDING, by=replier)
            continue
        ticket_reply(ticket=ticket, by=replier, body_text=_fill(text["reply"], values))
        clock.settle()

        if rng.random() < 0.45:  # a second round with the customer
            history.advance(30, 24 * 60)
            ticket_add_inbound(ticket=ticket, body_text=_fill(text["followup"], values))
            clock.settle()
            if status != Status.OPEN or rng.random() < 0.5:
                history.advance(10, 300)
                ticket_reply(ticket=ticket, by=replier, body_text=_fill(data.SECOND_REPLY[lang], values))
                clock.settle()

        if status == Status.ON_HOLD:
            history.advance(5, 120)
            ticket_add_note(ticket=ticket, by=replier, body_text=data.HOLD_NOTE[lang])
            ticket_change_status(ticket=ticket, status=Status.ON_HOLD, by=replier)
        elif status in {Status.SOLVED, Status.CLOSED}:
            history.advance(30, 48 * 60)
            ticket_change_status(ticket=ticket, status=Status.SOLVED, by=replier)
            if status == Status.CLOSED:
                history.advance(3 * 24 * 60, 5 * 24 * 60)
                ticket_change_status(ticket=ticket, status=Status.CLOSED, by=None)


WORKING_WEEK = {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# Business minutes per priority: first response, next response, resolution.
SLA_TARGETS = {
    "标准服务 Standard": {
        "urgent": (30, 60, 240),
        "high": (60, 120, 480),
        "normal": (240, 480, 1350),
        "low": (480, 960, 2700),
    },
    "金牌服务 Gold & Platinum": {
        "urgent": (15, 30, 120),
        "high": (30, 60, 240),
        "normal": (120, 240, 900),
        "low": (240, 480, 1800),
    },
}


def _ensure_sla(queues: dict[str, Queue]) -> None:
    """The mainland-China working calendar on every queue, a standard policy and a
    faster one for gold and platinum customers."""
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="中国大陆工作日 Mainland China",
        defaults={"time_zone": "Asia/Shanghai", "weekly_hours": WORKING_WEEK, "country": "CN"},
    )
    Queue.objects.filter(pk__in=[q.pk for q in queues.values()], calendar__isnull=True).update(calendar=calendar)
    for position, (name, per_priority) in enumerate(reversed(SLA_TARGETS.items())):
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position * 10,
                "service_levels": ["gold", "platinum"] if position == 0 else [],
                "calendar": calendar,
                "targets": {
                    priority: dict(zip(("first_response", "next_response", "resolution"), minutes, strict=True))
                    for priority, minutes in per_priority.items()
                },
            },
        )


def _ensure_channels_and_knowledge() -> None:
    """The parts added by later issues; each is idempotent, so an older demo database gains them."""
    demo_routing_ensure()  # before the phone line: its IVR offers calls through the routing rules
    demo_widget_ensure()
    demo_phone_ensure()
    demo_articles_ensure()


def demo_present(first_company: generate.CompanySpec) -> bool:
    return Company.objects.filter(credit_code=first_company.credit_code).exists()


def seed(*, now: dt.datetime | None = None, people: int = PEOPLE, tickets: int = TICKETS) -> SeedResult:
    """Create whatever of the demo is missing. Returns what was done."""
    started = time.monotonic()
    rng = random.Random(RANDOM_SEED)
    company_specs = generate.companies(rng)
    person_specs = generate.people(rng, company_specs, count=people)
    now = now or timezone.now()

    # Nobody watches the demo being written: its ~2,000 historic ticket events are stored,
    # not broadcast to live consoles (with Redis that alone would cost ~15 s).
    with publishing_paused(), transaction.atomic():
        departments, teams, queues, skills = _ensure_org()
        _ensure_sla(queues)
        users, users_created = _ensure_users(departments, teams, skills)
        if demo_present(company_specs[0]):
            _ensure_channels_and_knowledge()
            return SeedResult(False, time.monotonic() - started, users_created, counts={})

        with _simulated_time(now) as clock:
            companies = []
            for spec in company_specs:
                clock.at = now - dt.timedelta(days=spec.age_days, minutes=rng.randrange(600))
                companies.append(
                    company_create(
                        by=users["admin"],
                        name=spec.name,
                        credit_code=spec.credit_code,
                        industry=spec.industry,
                        size=spec.size,
                        region=spec.region,
                        status=spec.status,
                        email_domain=spec.email_domain,
                        service_level=spec.service_level,
                        owner=users.get(spec.owner) if spec.owner else None,
                        tags=spec.tags,
                    )
                )
                Company.objects.filter(pk=companies[-1].pk).update(created_at=clock.at)
                clock.settle()

            people_rows = []
            for spec in person_specs:
                clock.at = now - dt.timedelta(days=spec.age_days, minutes=rng.randrange(600))
                company = companies[spec.company] if spec.company is not None else None
                spec.extra["company_name"] = company.name if company else ""
                owner = users.get(spec.owner) if spec.owner else None
                person = person_create(
                    by=owner,
                    name=spec.name,
                    emails=spec.emails,
                    phones=spec.phones,
                    id_number=spec.id_number,
                    address=spec.address,
                    language=spec.language,
                    owner=owner,
                    source=spec.source,
                    lifecycle_stage=spec.lifecycle_stage,
                    service_level=spec.service_level,
                    tags=spec.tags,
                    company=company,
                    title=spec.title,
                )
                Person.objects.filter(pk=person.pk).update(created_at=clock.at)
                clock.settle()
                people_rows.append(person)

            # The policies were written above and do not change while the history is written: read them once.
            with sla_policies_batched():
                _create_tickets(rng, clock, users, queues, people_rows, person_specs, count=tickets, now=now)

        # The demo's replies are history: they were delivered long ago, the outbox must not send them.
        Message.objects.filter(
            ticket__customer__in=people_rows, direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.QUEUED
        ).update(delivery_status=DeliveryStatus.DELIVERED)

    _ensure_channels_and_knowledge()
    # One rebuild of the search index instead of indexing each demo record as it was written.
    search_reindex()
    counts = {
        "companies": len(companies),
        "customers": len(people_rows),
        "tickets": Ticket.objects.filter(customer__in=people_rows).count(),
        "messages": Message.objects.filter(ticket__customer__in=people_rows).count(),
    }
    return SeedResult(True, time.monotonic() - started, users_created, counts)


def logins() -> list[tuple[str, str]]:
    """(username, role) of every demo login, in the order they are shown."""
    return [(spec.username, ROLE_LABELS[spec.role]) for spec in USERS]
