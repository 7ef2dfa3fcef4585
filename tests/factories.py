"""Small builders for test data. Each returns saved objects made through the services."""

from __future__ import annotations

import itertools

from accounts.models import AgentProfile, Department, Presence, Team, User
from accounts.roles import AGENT, role_group
from crm.models import Person
from crm.services import person_create
from ticketing.models import Queue, Ticket
from ticketing.services import ticket_create

PASSWORD = "test-Pass-2026"
_seq = itertools.count(1)


def department(name: str = "", parent: Department | None = None) -> Department:
    return Department.objects.create(name=name or f"Dept {next(_seq)}", parent=parent)


def user(
    username: str = "",
    *,
    role: str | None = AGENT,
    department: Department | None = None,
    manager: User | None = None,
    teams: list[Team] = (),
    superuser: bool = False,
    **extra,
) -> User:
    username = username or f"user{next(_seq)}"
    maker = User.objects.create_superuser if superuser else User.objects.create_user
    created = maker(username=username, password=PASSWORD, department=department, manager=manager, **extra)
    if role:
        created.groups.add(role_group(role))
    for team in teams:
        team.members.add(created)
    return created


def agent(username: str = "", *, teams: list[Team] = (), languages=("zh",), presence=Presence.ONLINE, **extra) -> User:
    created = user(username, role=AGENT, teams=teams, **extra)
    AgentProfile.objects.create(user=created, languages=list(languages), presence=presence)
    return created


def team(name: str = "", department: Department | None = None) -> Team:
    return Team.objects.create(name=name or f"Team {next(_seq)}", department=department)


def queue(name: str = "", *, team_: Team | None = None, is_default: bool = False) -> Queue:
    return Queue.objects.create(name=name or f"Queue {next(_seq)}", team=team_ or team(), is_default=is_default)


def person(name: str = "", *, owner: User | None = None, emails=(), phones=(), **extra) -> Person:
    n = next(_seq)
    return person_create(
        by=None,
        name=name or f"Customer {n}",
        emails=list(emails) or [f"customer{n}@example.com"],
        phones=list(phones),
        owner=owner,
        **extra,
    )


def ticket(
    *,
    customer: Person | None = None,
    queue_: Queue | None = None,
    assignee: User | None = None,
    subject: str = "",
    **extra,
) -> Ticket:
    return ticket_create(
        by=None,
        customer=customer or person(),
        subject=subject or f"Question {next(_seq)}",
        queue=queue_,
        assignee=assignee,
        body_text=extra.pop("body_text", "Hello"),
        **extra,
    )
