"""Read the agents' routing attributes and current load in a few queries (for selection)."""

from __future__ import annotations

import time
from collections import defaultdict

from django.db.models import Count, Max, Subquery

from accounts.models import AgentProfile, AgentSkill, Presence, Role, Team
from routing.models import Offer, OfferStatus
from routing.selection import CAPACITY_CHANNEL, AgentState, capacity_channel
from ticketing.models import Status, Ticket

CLOSED = [Status.SOLVED, Status.CLOSED]
CHANNELS = ("voice", "chat", "email", "sms")


def agents_load(agent_ids=None) -> dict[int, dict[str, int]]:
    """Open assigned tickets plus pending offers, per agent and capacity channel."""
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    tickets = Ticket.objects.filter(assignee__isnull=False).exclude(status__in=CLOSED)
    offers = Offer.objects.filter(status=OfferStatus.PENDING)
    if agent_ids is not None:
        tickets, offers = tickets.filter(assignee_id__in=agent_ids), offers.filter(agent_id__in=agent_ids)
    for row in tickets.values("assignee_id", "channel").annotate(n=Count("id")).order_by():
        load[row["assignee_id"]][capacity_channel(row["channel"])] += row["n"]
    for row in offers.values("agent_id", "channel").annotate(n=Count("id")).order_by():
        load[row["agent_id"]][capacity_channel(row["channel"])] += row["n"]
    return load


def agent_load(agent_id: int, channel: str, *, with_offers: bool = True) -> int:
    """The authoritative count for one agent and capacity channel, in one statement (read under the profile lock)."""
    channels = [c for c, cap in CAPACITY_CHANNEL.items() if cap == channel]
    tickets = Ticket.objects.filter(assignee_id=agent_id, channel__in=channels).exclude(status__in=CLOSED)
    if not with_offers:
        return tickets.count()
    offers = Offer.objects.filter(agent_id=agent_id, status=OfferStatus.PENDING, channel__in=channels)
    totals = (
        AgentProfile.objects.filter(user_id=agent_id)
        .annotate(
            tickets=Subquery(tickets.values("assignee_id").annotate(n=Count("id")).values("n")[:1]),
            offers=Subquery(offers.values("agent_id").annotate(n=Count("id")).values("n")[:1]),
        )
        .values_list("tickets", "offers")
        .first()
    )
    if totals is None:
        return 0
    return (totals[0] or 0) + (totals[1] or 0)


_cache: dict = {}
ATTRIBUTES_TTL = 5.0  # seconds: skills, teams and roles change rarely; presence and load are read every time


def _attributes() -> tuple[dict, dict, dict]:
    """Skills (by profile), team memberships and role codes (by user), cached briefly per process.
    Stale values only affect ranking: eligibility is re-checked under locks when offering."""
    cached = _cache.get("attributes")
    if cached and time.monotonic() - cached[0] < ATTRIBUTES_TTL:
        return cached[1]
    from accounts.models import User

    skills: dict[int, dict[str, int]] = defaultdict(dict)
    for agent_id, code, level in AgentSkill.objects.values_list("agent_id", "skill__code", "level"):
        skills[agent_id][code] = level
    teams: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for user_id, team_id, name in Team.members.through.objects.values_list("user_id", "team_id", "team__name"):
        teams[user_id].append((team_id, name))
    roles: dict[int, list[str]] = defaultdict(list)
    group_roles = dict(Role.objects.values_list("group_id", "code"))
    for user_id, group_id in User.groups.through.objects.filter(group_id__in=list(group_roles)).values_list(
        "user_id", "group_id"
    ):
        roles[user_id].append(group_roles[group_id])
    value = (dict(skills), dict(teams), dict(roles))
    _cache["attributes"] = (time.monotonic(), value)
    return value


def attributes_forget() -> None:
    _cache.clear()


def agents_snapshot(*, with_last_offer: bool = False) -> list[AgentState]:
    fields = (
        "user_id",
        "languages",
        "presence",
        "last_assigned_at",
        *(f"capacity_{c}" for c in CHANNELS),
        "user__username",
        "user__display_name",
        "user__first_name",
        "user__last_name",
    )
    # Offline agents are never candidates (nor listed in explain): a large roster has most of them offline.
    rows = (
        AgentProfile.objects.filter(user__is_active=True).exclude(presence=Presence.OFFLINE).values_list("id", *fields)
    )
    skills, teams, roles = _attributes()
    load = agents_load()
    last_offer = {}
    if with_last_offer:
        last_offer = dict(Offer.objects.values("agent_id").annotate(m=Max("created_at")).values_list("agent_id", "m"))
    agents = []
    for profile_id, user_id, languages, presence, last_assigned_at, *rest in rows:
        capacities, (username, display_name, first_name, last_name) = rest[: len(CHANNELS)], rest[len(CHANNELS) :]
        agent_teams = teams.get(user_id, [])
        agents.append(
            AgentState(
                id=user_id,
                name=display_name or f"{first_name} {last_name}".strip() or username,  # as User.__str__
                presence=presence,
                skills=skills.get(profile_id, {}),
                languages=[str(lang).lower() for lang in (languages or [])],
                team=[name for _, name in agent_teams],
                team_ids={team_id for team_id, _ in agent_teams},
                roles=roles.get(user_id, []),
                capacity=dict(zip(CHANNELS, capacities, strict=True)),
                load=dict(load.get(user_id, {})),
                last_assigned_at=last_assigned_at,
                last_offered_at=last_offer.get(user_id),
            )
        )
    return agents
