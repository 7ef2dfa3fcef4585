"""Pure selection: eligibility, ordering by tier, level and the queue's strategy."""

import datetime as dt

from routing.expressions import expression_parse
from routing.selection import AgentState, rank, tier_for_team, tier_from_expression

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def agent(id, *, level=3, presence="online", load=0, capacity=10, idle_minutes=10, languages=("zh",), team=1):
    return AgentState(
        id=id,
        name=f"a{id}",
        presence=presence,
        skills={"billing": level},
        languages=list(languages),
        team_ids={team},
        capacity={"email": capacity, "chat": 3},
        load={"email": load},
        last_assigned_at=NOW - dt.timedelta(minutes=idle_minutes),
    )


def order(agents, *, strategy="longest_idle", waited=0, tiers=None, excluded=frozenset(), channel="email"):
    tiers = tiers or [tier_from_expression("queue", 0, expression_parse("billing >= 3"))]
    judged = rank(
        agents,
        tiers=tiers,
        channel=channel,
        ranking_skills=["billing"],
        strategy=strategy,
        waited_seconds=waited,
        excluded=excluded,
        now=NOW,
    )
    return [c.agent.id for c in judged if c.eligible]


def test_higher_level_first_then_longest_idle():
    agents = [agent(1, level=3, idle_minutes=50), agent(2, level=5, idle_minutes=1), agent(3, level=3, idle_minutes=90)]
    assert order(agents) == [2, 3, 1]


def test_offline_away_full_and_unmatched_agents_are_not_eligible():
    agents = [
        agent(1, presence="away"),
        agent(2, presence="offline"),
        agent(3, load=10),
        agent(4, level=2),
        agent(5),
    ]
    assert order(agents) == [5]


def test_reasons_say_why_not():
    judged = rank(
        [agent(1, load=10)],
        tiers=[tier_for_team("team", 1)],
        channel="web",  # web forms count as email work
        ranking_skills=[],
        strategy="longest_idle",
        waited_seconds=0,
        now=NOW,
    )
    assert not judged[0].eligible
    assert any("no free email capacity (10/10)" in r for r in judged[0].reasons)


def test_least_busy_and_round_robin():
    busy, calm = agent(1, load=8, idle_minutes=99), agent(2, load=1, idle_minutes=1)
    assert order([busy, calm], strategy="least_busy") == [2, 1]
    first, second = agent(1), agent(2)
    first.last_offered_at, second.last_offered_at = NOW, NOW - dt.timedelta(minutes=5)
    assert order([first, second], strategy="round_robin") == [2, 1]


def test_overflow_steps_widen_only_after_their_wait_and_come_after_the_queue_target():
    tiers = [
        tier_from_expression("queue", 0, expression_parse("billing >= 4")),
        tier_from_expression("step 1", 60, expression_parse("billing >= 2")),
    ]
    agents = [agent(1, level=2, idle_minutes=500), agent(2, level=4)]
    assert order(agents, tiers=tiers, waited=10) == [2]
    assert order(agents, tiers=tiers, waited=61) == [2, 1]


def test_recently_declined_agent_is_skipped():
    assert order([agent(1), agent(2)], excluded={1}) == [2]


def test_chat_capacity_is_separate_from_email():
    agents = [agent(1, load=10)]
    assert order(agents, channel="chat") == [1]
