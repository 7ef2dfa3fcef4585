"""Builders for routing tests: skills, a routed queue, tickets that wait."""

from __future__ import annotations

from accounts.models import AgentProfile, AgentSkill, Skill
from routing.models import QueueRouting, RoutingStep
from tests import factories


def skill(agent, code: str, level: int) -> None:
    s, _ = Skill.objects.get_or_create(code=code, defaults={"name": code})
    AgentSkill.objects.update_or_create(agent=agent.agent_profile, skill=s, defaults={"level": level})


def capacity(agent, **per_channel) -> None:
    AgentProfile.objects.filter(user=agent).update(**{f"capacity_{c}": n for c, n in per_channel.items()})


def routed_queue(team, *, target: str = "", steps=(), **rule) -> QueueRouting:
    queue = factories.queue(team_=team)
    routing = QueueRouting.objects.create(queue=queue, target=target, **rule)
    for position, (after, step_target) in enumerate(steps, start=1):
        RoutingStep.objects.create(rule=routing, position=position, after_seconds=after, target=step_target)
    return routing
