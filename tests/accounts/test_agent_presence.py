import pytest
from django.core.exceptions import ValidationError

from accounts.models import Presence
from accounts.services import agent_presence_set


def test_presence_change_keeps_the_time_of_change(org):
    before = org.agent_zh.agent_profile.presence_changed_at
    profile = agent_presence_set(agent=org.agent_zh, presence=Presence.AWAY)
    assert profile.presence == "away" and profile.presence_changed_at > before
    same = agent_presence_set(agent=org.agent_zh, presence=Presence.AWAY)
    assert same.presence_changed_at == profile.presence_changed_at  # no change, no new time


def test_unknown_presence_and_non_agents_are_refused(org):
    with pytest.raises(ValidationError, match="Unknown presence"):
        agent_presence_set(agent=org.agent_zh, presence="busy")
    with pytest.raises(ValidationError, match="not an agent"):
        agent_presence_set(agent=org.sales_rep, presence="online")
