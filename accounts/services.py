"""Writes to accounts: presence of agents."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AgentProfile, Presence, User
from accounts.signals import agent_presence_changed


@transaction.atomic
def agent_presence_set(*, agent: User, presence: str) -> AgentProfile:
    """Online, away or offline; the time of the change is kept for routing (idle time)."""
    if presence not in Presence.values:
        raise ValidationError({"presence": [_("Unknown presence “%(value)s”.") % {"value": presence}]})
    profile = AgentProfile.objects.select_for_update().filter(user=agent).first()
    if profile is None:
        raise ValidationError({"presence": [_("%(name)s is not an agent.") % {"name": agent}]})
    if profile.presence != presence:
        old = profile.presence
        profile.presence = presence
        profile.presence_changed_at = timezone.now()
        profile.save(update_fields=["presence", "presence_changed_at"])
        agent_presence_changed.send(sender=AgentProfile, profile=profile, old=old, new=presence)
    return profile
