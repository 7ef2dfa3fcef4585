"""Pure selection: which agents may take a ticket, and in which order. No database here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from routing.expressions import evaluate

# Web forms and API tickets are asynchronous work, counted like emails.
CAPACITY_CHANNEL = {"email": "email", "chat": "chat", "voice": "voice", "sms": "sms", "web": "email", "api": "email"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
UNMATCHED_KEPT = 10  # agents who match no tier at all, kept in a ranking for explain


def capacity_channel(channel: str) -> str:
    return CAPACITY_CHANNEL.get(channel, "email")


@dataclass
class AgentState:
    id: int
    name: str
    presence: str
    skills: dict[str, int] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    team_ids: set[int] = field(default_factory=set)
    roles: list[str] = field(default_factory=list)
    capacity: dict[str, int] = field(default_factory=dict)
    load: dict[str, int] = field(default_factory=dict)  # open assigned tickets + pending offers, per capacity channel
    last_assigned_at: dt.datetime | None = None
    last_offered_at: dt.datetime | None = None

    def attrs(self) -> dict:
        return {"skills": self.skills, "languages": self.languages, "team": self.team, "roles": self.roles}

    def free(self, channel: str) -> int:
        return self.capacity.get(channel, 0) - self.load.get(channel, 0)


@dataclass(frozen=True)
class Tier:
    """A target that applies from `after_seconds` of waiting on: the rule's own (0) or an overflow step."""

    label: str
    after_seconds: int
    matches: Callable[[AgentState], bool]


def tier_from_expression(label: str, after_seconds: int, tree) -> Tier:
    return Tier(label, after_seconds, lambda agent: evaluate(tree, agent.attrs()))


def tier_for_team(label: str, team_id: int) -> Tier:
    return Tier(label, 0, lambda agent: team_id in agent.team_ids)


def _templates(context: dict) -> dict[str, str]:
    """The reason texts, translated once per ranking (not once per candidate)."""
    if "templates" not in context:
        context["templates"] = {
            "unmatched": _("does not match the target"),
            "matches": _("matches %(tier)s"),
            "presence": _("presence is %(presence)s"),
            "full": _("no free %(channel)s capacity (%(load)d/%(capacity)d)"),
            "load": _("%(channel)s load %(load)d/%(capacity)d"),
            "missed": _("declined or missed this ticket a moment ago"),
            "level": _("skill level %(level)d"),
            "idle": _("idle %(seconds)d s since the last assignment"),
        }
    return context["templates"]


@dataclass
class Candidate:
    agent: AgentState
    eligible: bool
    tier: int  # index in the rule's tiers; 99 when no reached tier matches
    level: int
    sort_key: tuple
    context: dict  # what the reasons are written from (only the kept candidates get them)

    @property
    def score(self) -> int:
        return 0 if self.tier == 99 else self.level * 100 - self.tier * 1000

    @property
    def reasons(self) -> list[str]:
        c = self.context
        t = _templates(c)
        agent, channel = self.agent, c["channel"]
        reasons = []
        if self.tier == 99:
            reasons.append(t["unmatched"])
        else:
            reasons.append(t["matches"] % {"tier": c["labels"][self.tier]})
        if agent.presence != "online":
            reasons.append(t["presence"] % {"presence": agent.presence})
        values = {"channel": channel, "load": agent.load.get(channel, 0), "capacity": agent.capacity.get(channel, 0)}
        reasons.append((t["full"] if values["load"] >= values["capacity"] else t["load"]) % values)
        if agent.id in c["excluded"]:
            reasons.append(t["missed"])
        if c["ranking_skills"]:
            reasons.append(t["level"] % {"level": self.level})
        if agent.last_assigned_at and self.eligible:
            reasons.append(t["idle"] % {"seconds": int((c["now"] - agent.last_assigned_at).total_seconds())})
        return reasons

    def as_dict(self) -> dict:
        return {
            "agent": self.agent.id,
            "name": self.agent.name,
            "score": self.score,
            "eligible": self.eligible,
            "reasons": self.reasons,
        }


def reached_tiers(tiers: list[Tier], waited_seconds: float) -> list[Tier]:
    return [tier for tier in tiers if tier.after_seconds <= waited_seconds]


def rank(
    agents: list[AgentState],
    *,
    tiers: list[Tier],
    channel: str,
    ranking_skills: list[str],
    strategy: str,
    waited_seconds: float,
    excluded: set[int] = frozenset(),
    now: dt.datetime,
    match_cache: dict | None = None,
) -> list[Candidate]:
    """Every agent judged for one ticket; eligible ones first, best first.

    Order: earlier tier (the queue's own target before overflow steps), higher
    level of the ranking skill(s), then the strategy: longest idle since the last
    assignment, least busy on the channel, or round robin (longest since the last offer).
    `match_cache` (agent id → indices of the tiers they match) saves re-evaluating
    the expressions for every ticket of a sweep.
    """
    channel = capacity_channel(channel)
    context = {
        "channel": channel,
        "labels": [tier.label for tier in tiers],
        "excluded": excluded,
        "ranking_skills": ranking_skills,
        "now": now,
    }
    judged = []
    unmatched = 0
    for agent in agents:
        matched = match_cache.get(agent.id) if match_cache is not None else None
        if matched is None:
            matched = tuple(i for i, tier in enumerate(tiers) if tier.matches(agent))
            if match_cache is not None:
                match_cache[agent.id] = matched
        if not matched:
            # Never a candidate for this queue: only a few are kept, to show in explain why not.
            unmatched += 1
            if unmatched > UNMATCHED_KEPT:
                continue
        tier = next((i for i in matched if tiers[i].after_seconds <= waited_seconds), 99)
        capacity, load = agent.capacity.get(channel, 0), agent.load.get(channel, 0)
        eligible = tier != 99 and agent.presence == "online" and load < capacity and agent.id not in excluded
        level = max((agent.skills.get(code, 0) for code in ranking_skills), default=0)
        if strategy == "least_busy":
            tie = (load / capacity if capacity else 1.0, agent.last_assigned_at or EPOCH)
        elif strategy == "round_robin":
            tie = (agent.last_offered_at or EPOCH,)
        else:
            tie = (agent.last_assigned_at or EPOCH,)
        judged.append(Candidate(agent, eligible, tier, level, (not eligible, tier, -level, *tie, agent.id), context))
    judged.sort(key=lambda c: c.sort_key)
    return judged
